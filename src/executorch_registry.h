// The game's live models: every ExecuTorchRuntime that holds a model, under a
// name unique among them. This is the runtime layer's API for whoever wants to
// see all of the game's models (the MCP server in src/mcp/): it reads the
// entries and registers a listener; nothing here knows who listens, so the
// runtime never calls up into the layers above it. It holds the runtimes as
// RefCounted (readers cast the entries back), so it depends on nothing of the
// runtime and the runtime can depend on it.
//
// Thread safety: runtimes add and remove themselves on whatever thread loads
// or frees them; readers (MCP connection threads) take strong references under
// the registry's lock, so a runtime being freed is never handed out.

#pragma once

#include "core/object/ref_counted.h"
#include "core/os/mutex.h"
#include "core/string/ustring.h"
#include "core/templates/local_vector.h"

class ExecuTorchRegistry {
public:
	struct Entry {
		String name;
		Ref<RefCounted> runtime; // an ExecuTorchRuntime
	};
	// Called after every change (a model loaded, unloaded, renamed, reloaded,
	// or its runtime freed), on the thread that made it, without the lock held.
	typedef void (*Listener)(void *p_userdata, const String &p_what);

private:
	struct Slot {
		String name;
		RefCounted *runtime = nullptr;
	};
	struct ListenerSlot {
		Listener listener = nullptr;
		void *userdata = nullptr;
	};

	mutable Mutex mutex;
	LocalVector<Slot> slots; // sorted by name
	LocalVector<ListenerSlot> listeners;

	String _unique_name(const String &p_requested, const RefCounted *p_owner) const;
	int _find(const RefCounted *p_runtime) const;
	void _insert_sorted(const Slot &p_slot);
	void _notify(const String &p_what);

public:
	static ExecuTorchRegistry &get_singleton();

	// A name as agents use it: letters, digits, '_' and '-' (a '.' separates
	// model and method in tool names); anything else becomes '_'.
	static String sanitize_name(const String &p_name);
	static bool is_valid_name(const String &p_name);

	// --- ExecuTorchRuntime's side ---
	// Adds the runtime, or renames it when present; returns the unique name
	// it got (`p_requested`, or it with a numeric suffix on a clash).
	String put(RefCounted *p_runtime, const String &p_requested, const String &p_what);
	void remove(RefCounted *p_runtime, const String &p_what);
	// Tells the listeners about a change that keeps the entry (a hot reload).
	void changed(const String &p_what);

	// --- readers ---
	// Every live runtime that holds a model, sorted by name.
	LocalVector<Entry> entries() const;

	void add_listener(Listener p_listener, void *p_userdata);
	void remove_listener(Listener p_listener, void *p_userdata);
};
