// JSON for the MCP transports, where Godot's JSON class falls short:
// - ids must come back exactly as sent (2^80 is not a double's to round),
//   so the request's own text of its "id" is kept and written back verbatim;
// - every number written must be valid JSON: NaN and infinities become null,
//   and the writer reports where it put them, so a tool result can say why;
// - floats are written in their shortest round-trip form.

#pragma once

#include "core/string/ustring.h"
#include "core/variant/variant.h"

namespace mcp_json {

// The raw JSON text of the top-level "id" of the object in `p_text`
// ("7", "\"a\"", "1208925819614629174706176"), or "" when there is none or
// the text is not a JSON object. Only strings and numbers count as ids.
String find_raw_id(const String &p_text);

// Whether `p_raw` is the JSON text of a number that is a whole number.
bool raw_id_is_number(const String &p_raw);

// Serializes `p_value` (Dictionary, Array, packed arrays, strings, numbers,
// bools, null). Non-finite floats are written as null and their JSON paths
// ("output_0[3]") are appended to `r_non_finite` when it is given.
String write(const Variant &p_value, PackedStringArray *r_non_finite = nullptr);

// {"jsonrpc":"2.0","id":<p_raw_id>, ...p_rest}: a response carrying the
// request's id verbatim ("null" when it could not be read).
String write_response(const String &p_raw_id, const Dictionary &p_rest, PackedStringArray *r_non_finite = nullptr);

} // namespace mcp_json
