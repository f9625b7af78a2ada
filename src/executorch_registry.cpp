#include "executorch_registry.h"

ExecuTorchRegistry &ExecuTorchRegistry::get_singleton() {
	static ExecuTorchRegistry registry;
	return registry;
}

bool ExecuTorchRegistry::is_valid_name(const String &p_name) {
	if (p_name.is_empty() || p_name.length() > 64) {
		return false;
	}
	for (int i = 0; i < p_name.length(); i++) {
		const char32_t c = p_name[i];
		if (!is_ascii_alphanumeric_char(c) && c != '_' && c != '-') {
			return false;
		}
	}
	return true;
}

String ExecuTorchRegistry::sanitize_name(const String &p_name) {
	String name = p_name.substr(0, 64);
	for (int i = 0; i < name.length(); i++) {
		const char32_t c = name[i];
		if (!is_ascii_alphanumeric_char(c) && c != '_' && c != '-') {
			name[i] = '_';
		}
	}
	return name.is_empty() ? String("model") : name;
}

int ExecuTorchRegistry::_find(const RefCounted *p_runtime) const {
	for (uint32_t i = 0; i < slots.size(); i++) {
		if (slots[i].runtime == p_runtime) {
			return (int)i;
		}
	}
	return -1;
}

String ExecuTorchRegistry::_unique_name(const String &p_requested, const RefCounted *p_owner) const {
	const auto taken = [&](const String &p_name) {
		for (const Slot &slot : slots) {
			if (slot.name == p_name && slot.runtime != p_owner) {
				return true;
			}
		}
		return false;
	};
	if (!taken(p_requested)) {
		return p_requested;
	}
	for (int suffix = 2;; suffix++) {
		const String candidate = vformat("%s_%d", p_requested, suffix);
		if (!taken(candidate)) {
			return candidate;
		}
	}
}

void ExecuTorchRegistry::_insert_sorted(const Slot &p_slot) {
	uint32_t position = 0;
	while (position < slots.size() && slots[position].name < p_slot.name) {
		position++;
	}
	slots.insert(position, p_slot);
}

String ExecuTorchRegistry::put(RefCounted *p_runtime, const String &p_requested, const String &p_what) {
	String name;
	{
		MutexLock lock(mutex);
		name = _unique_name(p_requested, p_runtime);
		const int index = _find(p_runtime);
		if (index >= 0) {
			slots.remove_at(index);
		}
		_insert_sorted({ name, p_runtime });
	}
	_notify(p_what);
	return name;
}

void ExecuTorchRegistry::remove(RefCounted *p_runtime, const String &p_what) {
	{
		MutexLock lock(mutex);
		const int index = _find(p_runtime);
		if (index < 0) {
			return;
		}
		slots.remove_at(index);
	}
	_notify(p_what);
}

void ExecuTorchRegistry::changed(const String &p_what) {
	_notify(p_what);
}

LocalVector<ExecuTorchRegistry::Entry> ExecuTorchRegistry::entries() const {
	LocalVector<Entry> result;
	MutexLock lock(mutex);
	for (const Slot &slot : slots) {
		// A runtime whose count already reached zero is being freed (its
		// destructor waits for this lock to remove it): skip it. Otherwise the
		// conditional increment keeps it alive for the Ref made from it.
		if (slot.runtime->reference()) {
			Entry entry;
			entry.name = slot.name;
			entry.runtime = Ref<RefCounted>(slot.runtime);
			slot.runtime->unreference(); // the Ref holds its own count now
			result.push_back(entry);
		}
	}
	return result;
}

void ExecuTorchRegistry::add_listener(Listener p_listener, void *p_userdata) {
	MutexLock lock(mutex);
	listeners.push_back({ p_listener, p_userdata });
}

void ExecuTorchRegistry::remove_listener(Listener p_listener, void *p_userdata) {
	MutexLock lock(mutex);
	for (uint32_t i = 0; i < listeners.size(); i++) {
		if (listeners[i].listener == p_listener && listeners[i].userdata == p_userdata) {
			listeners.remove_at(i);
			return;
		}
	}
}

void ExecuTorchRegistry::_notify(const String &p_what) {
	LocalVector<ListenerSlot> current;
	{
		MutexLock lock(mutex);
		current = listeners;
	}
	for (const ListenerSlot &slot : current) {
		slot.listener(slot.userdata, p_what);
	}
}
