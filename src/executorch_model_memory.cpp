// ExecuTorchModel's program bytes and planned memory, and the file they come
// from: what a loaded program reads for its lifetime.

#include "executorch_model_internal.h"

#include "core/io/file_access.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

using executorch::runtime::Program;

String ExecuTorchModel::ProgramBytes::map(const String &p_disk_path) {
	const int fd = open(p_disk_path.utf8().get_data(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return String::utf8(strerror(errno)) + ".";
	}
	struct stat info;
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
		close(fd);
		return "it is not a regular file.";
	}
	size = (size_t)info.st_size;
	if (size > 0) {
		mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
	}
	close(fd);
	if (size > 0 && mapping == MAP_FAILED) {
		mapping = nullptr;
		return vformat("it cannot be memory-mapped (%s).", String::utf8(strerror(errno)));
	}
	data = static_cast<const uint8_t *>(mapping);
	return String();
}

String ExecuTorchModel::ProgramBytes::read(const String &p_path) {
	Ref<FileAccess> file = FileAccess::open(p_path, FileAccess::READ);
	if (file.is_null()) {
		return vformat("%s.", error_names[FileAccess::get_open_error()]);
	}
	const uint64_t length = file->get_length();
	if (length > (uint64_t)std::numeric_limits<int64_t>::max() / 2) {
		return "it is too large.";
	}
	if (posix_memalign(reinterpret_cast<void **>(&copy), 64, MAX(length, (uint64_t)64)) != 0) {
		copy = nullptr;
		return vformat("there is no memory for its %s.", String::humanize_size(length));
	}
	size = (size_t)file->get_buffer(copy, length);
	data = copy;
	return size == length ? String() : String("it could not be read to its end.");
}

ExecuTorchModel::ProgramBytes::~ProgramBytes() {
	if (mapping) {
		munmap(mapping, size);
	}
	free(copy);
}

String ExecuTorchModel::PlannedMemory::allocate(Program &p_program, const std::string &p_method) {
	auto meta = p_program.method_meta(p_method.c_str());
	if (!meta.ok()) {
		return "ExecuTorch has no metadata for it.";
	}
	for (size_t i = 0; i < meta->num_memory_planned_buffers(); i++) {
		auto size = meta->memory_planned_buffer_size(i);
		if (!size.ok() || size.get() < 0) {
			return vformat("its planned buffer %d has no valid size.", (int64_t)i);
		}
		uint8_t *buffer = static_cast<uint8_t *>(std::malloc(MAX((size_t)size.get(), (size_t)1)));
		if (!buffer) {
			return vformat("there is no memory for its planned buffer %d (%s).", (int64_t)i, String::humanize_size(size.get()));
		}
		buffers.push_back(buffer);
		spans.emplace_back(buffer, (size_t)size.get());
	}
	allocator = std::make_unique<executorch::runtime::HierarchicalAllocator>(
			executorch::runtime::Span<executorch::runtime::Span<uint8_t>>(spans.data(), spans.size()));
	return String();
}

ExecuTorchModel::PlannedMemory::~PlannedMemory() {
	for (uint8_t *buffer : buffers) {
		std::free(buffer);
	}
}

namespace {

const char *file_kind(mode_t p_mode) {
	return S_ISFIFO(p_mode) ? "a FIFO" : S_ISCHR(p_mode) ? "a character device" : S_ISBLK(p_mode) ? "a block device" : S_ISSOCK(p_mode) ? "a socket" : "a special file";
}

} // namespace

namespace executorch_model_files {

// Whether nothing can rewrite or truncate the file at `p_disk_path` while it
// is loaded: it lies on a filesystem mounted read-only (a squashfs or ISO
// image, an AppImage, a read-only bind mount). Anything else may change under
// a mapping, by this game, another process or the user.
bool on_read_only_filesystem(const String &p_disk_path) {
	struct statvfs info;
	return statvfs(p_disk_path.utf8().get_data(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
}

// Why the file at absolute `p_disk_path` (shown as `p_path`) cannot be a
// program to read, with its Error code, or "" when it is a regular file this
// process may read.
String disk_file_problem(const String &p_path, const String &p_disk_path, Error &r_error) {
	struct stat info;
	const CharString native = p_disk_path.utf8();
	r_error = ERR_FILE_CANT_OPEN;
	if (stat(native.get_data(), &info) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			r_error = ERR_FILE_NOT_FOUND;
			return vformat("No file at '%s'. Check the path; export models with `python -m model_tools export`.", p_path);
		}
		return vformat("'%s' exists but cannot be inspected (%s).", p_path, String::utf8(strerror(errno)));
	}
	if (S_ISDIR(info.st_mode)) {
		return vformat("'%s' is a directory, not a .pte file. Pass the path of the program file inside it.", p_path);
	}
	if (!S_ISREG(info.st_mode)) {
		return vformat("'%s' exists but is not a regular file (it is %s); ExecuTorch programs are read from regular .pte files.", p_path, file_kind(info.st_mode));
	}
	if (access(native.get_data(), R_OK) != 0) {
		return vformat("'%s' exists but cannot be read (%s). Check its permissions.", p_path, String::utf8(strerror(errno)));
	}
	return String();
}

} // namespace executorch_model_files
