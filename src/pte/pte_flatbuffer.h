/**************************************************************************/
/*  pte_flatbuffer.h                                                      */
/**************************************************************************/
/*  A bounds-checked, read-only flatbuffer reader for the .pte pre-       */
/*  validator. Every access (root offset, vtable, field, vector, string,  */
/*  union) is checked against the buffer as it is read, so no byte of     */
/*  the input can make it read outside [data, data + size). A bad access  */
/*  records the first problem and yields an empty result; callers check   */
/*  failed() before trusting what they read.                              */
/*                                                                        */
/*  It follows flatbuffers::Verifier (v24.3.25) where that is stricter    */
/*  than needed (alignment, NUL-terminated strings, non-zero offsets) and */
/*  is stricter than it where the builder never does otherwise (a field   */
/*  must lie inside its table). Reads use memcpy: no unaligned loads.     */
/**************************************************************************/

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pte {
namespace fb {

// The byte offset of field number p_id in a vtable (flatbuffers' VT_ constants).
constexpr uint16_t field(uint16_t p_id) {
	return (uint16_t)(4 + 2 * p_id);
}

struct Table {
	uint32_t position = 0; // of the table's soffset to its vtable
	uint32_t vtable = 0;
	uint16_t vtable_size = 0;
	uint16_t table_size = 0;
	bool present = false;
};

struct Vector {
	uint32_t data = 0; // position of element 0
	uint32_t count = 0;
	bool present = false;
};

struct String {
	const char *chars = nullptr; // NUL-terminated inside the buffer
	uint32_t length = 0;
	bool present = false;

	bool equals(const char *p_text) const {
		const size_t n = strlen(p_text);
		return present && n == length && memcmp(chars, p_text, n) == 0;
	}
};

class Reader {
	const uint8_t *_data = nullptr;
	uint32_t _size = 0;
	const char *_error = nullptr; // what failed first
	uint32_t _error_position = 0;

	bool _fail(const char *p_what, uint64_t p_position) {
		if (_error == nullptr) {
			_error = p_what;
			_error_position = p_position > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)p_position;
		}
		return false;
	}

	// [p_position, p_position + p_length) lies in the buffer.
	bool _in_range(uint64_t p_position, uint64_t p_length) const {
		return p_position <= _size && p_length <= _size - p_position;
	}

	template <typename T>
	T _load(uint32_t p_position) const {
		T value;
		memcpy(&value, _data + p_position, sizeof(T));
		return value;
	}

	// The position of the field's bytes, or 0 when the field is absent (its default applies).
	uint32_t _field_position(const Table &p_table, uint16_t p_field, uint32_t p_width) {
		if (!p_table.present || p_field + 2u > p_table.vtable_size) {
			return 0;
		}
		const uint16_t offset = _load<uint16_t>(p_table.vtable + p_field);
		if (offset == 0) {
			return 0;
		}
		if (offset < 4 || (uint32_t)offset + p_width > p_table.table_size) {
			_fail("a field lies outside its table", p_table.position);
			return 0;
		}
		const uint32_t position = p_table.position + offset;
		if (position % p_width != 0) {
			_fail("a field is misaligned", position);
			return 0;
		}
		return position;
	}

	// Follows the uoffset stored at p_position; 0 on failure.
	uint32_t _follow(uint32_t p_position, uint32_t p_alignment, const char *p_what) {
		if (!_in_range(p_position, 4) || p_position % 4 != 0) {
			_fail(p_what, p_position);
			return 0;
		}
		const uint32_t offset = _load<uint32_t>(p_position);
		// Offsets point forward, are never 0 (a pointer to itself) and stay below 2 GiB.
		if (offset == 0 || offset > 0x7FFFFFFFu || !_in_range((uint64_t)p_position + offset, 1)) {
			_fail(p_what, p_position);
			return 0;
		}
		const uint32_t target = p_position + offset;
		if (target % p_alignment != 0) {
			_fail(p_what, target);
			return 0;
		}
		return target;
	}

	bool _vector_at(uint32_t p_position, uint32_t p_element_size, Vector &r_vector, const char *p_what) {
		if (!_in_range(p_position, 4)) {
			return _fail(p_what, p_position);
		}
		const uint32_t count = _load<uint32_t>(p_position);
		if ((uint64_t)count * p_element_size > _size || !_in_range((uint64_t)p_position + 4, (uint64_t)count * p_element_size)) {
			return _fail(p_what, p_position);
		}
		r_vector.data = p_position + 4;
		r_vector.count = count;
		r_vector.present = true;
		return true;
	}

public:
	Reader() {}
	Reader(const uint8_t *p_data, size_t p_size) :
			_data(p_data), _size(p_size > 0x7FFFFFFFu ? 0 : (uint32_t)p_size) {
		if (p_size > 0x7FFFFFFFu) {
			_fail("the flatbuffer is larger than 2 GiB", 0);
		}
	}

	bool failed() const { return _error != nullptr; }
	const char *error() const { return _error; }
	uint32_t error_position() const { return _error_position; }
	uint32_t size() const { return _size; }
	const uint8_t *data() const { return _data; }

	// Validates the table whose soffset is at p_position.
	bool table_at(uint32_t p_position, Table &r_table) {
		r_table = Table();
		if (!_in_range(p_position, 4) || p_position % 4 != 0) {
			return _fail("a table offset is out of range", p_position);
		}
		const int64_t vtable = (int64_t)p_position - (int64_t)_load<int32_t>(p_position);
		if (vtable < 0 || !_in_range((uint64_t)vtable, 4) || vtable % 2 != 0) {
			return _fail("a vtable is out of range", p_position);
		}
		const uint16_t vtable_size = _load<uint16_t>((uint32_t)vtable);
		const uint16_t table_size = _load<uint16_t>((uint32_t)vtable + 2);
		if (vtable_size < 4 || vtable_size % 2 != 0 || !_in_range((uint64_t)vtable, vtable_size) || table_size < 4 || !_in_range(p_position, table_size)) {
			return _fail("a vtable or table size is invalid", p_position);
		}
		r_table.position = p_position;
		r_table.vtable = (uint32_t)vtable;
		r_table.vtable_size = vtable_size;
		r_table.table_size = table_size;
		r_table.present = true;
		return true;
	}

	// The root table; p_identifier (4 chars) is checked at bytes 4..8 when given.
	bool root(Table &r_table, const char *p_identifier) {
		r_table = Table();
		if (_size < 8) {
			return _fail("the flatbuffer is shorter than 8 bytes", 0);
		}
		if (p_identifier != nullptr && memcmp(_data + 4, p_identifier, 4) != 0) {
			return _fail("the flatbuffer identifier is wrong", 4);
		}
		const uint32_t target = _follow(0, 4, "the root offset is out of range");
		return target != 0 && table_at(target, r_table);
	}

	template <typename T>
	T scalar(const Table &p_table, uint16_t p_field, T p_default) {
		const uint32_t position = _field_position(p_table, p_field, sizeof(T));
		return position == 0 ? p_default : _load<T>(position);
	}

	bool has_field(const Table &p_table, uint16_t p_field) {
		return _field_position(p_table, p_field, 1) != 0;
	}

	// A field holding an offset to a table (or a union value).
	Table table(const Table &p_table, uint16_t p_field) {
		Table result;
		const uint32_t position = _field_position(p_table, p_field, 4);
		if (position != 0) {
			const uint32_t target = _follow(position, 4, "a table offset is out of range");
			if (target != 0) {
				table_at(target, result);
			}
		}
		return result;
	}

	// A field holding an offset to a vector whose elements are p_element_size
	// bytes (scalars) or 4-byte offsets (tables, strings). Elements are read
	// with memcpy, so their alignment does not matter here.
	Vector vector(const Table &p_table, uint16_t p_field, uint32_t p_element_size) {
		Vector result;
		const uint32_t position = _field_position(p_table, p_field, 4);
		if (position != 0) {
			// Like the Verifier, only the 4-byte length is alignment-checked: builders
			// 8-align vectors of 8-byte scalars, but not every tool pads the buffer so.
			const uint32_t target = _follow(position, 4, "a vector offset is out of range");
			if (target != 0) {
				_vector_at(target, p_element_size, result, "a vector is out of range");
			}
		}
		return result;
	}

	String string(const Table &p_table, uint16_t p_field) {
		String result;
		const uint32_t position = _field_position(p_table, p_field, 4);
		if (position != 0) {
			const uint32_t target = _follow(position, 4, "a string offset is out of range");
			Vector bytes;
			if (target != 0 && _vector_at(target, 1, bytes, "a string is out of range")) {
				if (!_in_range((uint64_t)bytes.data + bytes.count, 1) || _data[bytes.data + bytes.count] != 0) {
					_fail("a string is not NUL-terminated", target);
				} else {
					result.chars = (const char *)(_data + bytes.data);
					result.length = bytes.count;
					result.present = true;
				}
			}
		}
		return result;
	}

	// Element p_index of a vector of scalars (the caller keeps p_index < count).
	template <typename T>
	T element(const Vector &p_vector, uint32_t p_index) {
		if (!p_vector.present || p_index >= p_vector.count) {
			_fail("a vector index is out of range", p_vector.data);
			return T();
		}
		return _load<T>(p_vector.data + p_index * (uint32_t)sizeof(T));
	}

	// Element p_index of a vector of tables.
	Table table_element(const Vector &p_vector, uint32_t p_index) {
		Table result;
		if (!p_vector.present || p_index >= p_vector.count) {
			_fail("a vector index is out of range", p_vector.data);
			return result;
		}
		const uint32_t target = _follow(p_vector.data + p_index * 4, 4, "a table offset in a vector is out of range");
		if (target != 0) {
			table_at(target, result);
		}
		return result;
	}

	// The bytes of a vector of ubyte (the caller reads at most count bytes).
	const uint8_t *bytes(const Vector &p_vector) const {
		return p_vector.present ? _data + p_vector.data : nullptr;
	}
};

} // namespace fb
} // namespace pte
