#include "mcp_json.h"

#include "core/variant/dictionary.h"

#include <charconv>
#include <cmath>

namespace mcp_json {

namespace {

// --- scanning raw text ------------------------------------------------------------

struct Scanner {
	const char32_t *text;
	int length;
	int at = 0;

	void skip_space() {
		while (at < length && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) {
			at++;
		}
	}

	bool string() {
		if (at >= length || text[at] != '"') {
			return false;
		}
		for (at++; at < length; at++) {
			if (text[at] == '\\') {
				at++;
			} else if (text[at] == '"') {
				at++;
				return true;
			}
		}
		return false;
	}

	bool number() {
		const int start = at;
		if (at < length && text[at] == '-') {
			at++;
		}
		while (at < length && ((text[at] >= '0' && text[at] <= '9') || text[at] == '.' || text[at] == 'e' || text[at] == 'E' ||
									  text[at] == '+' || text[at] == '-')) {
			at++;
		}
		return at > start && text[at - 1] >= '0' && text[at - 1] <= '9';
	}

	// Skips one value of any kind; false when the text is not JSON.
	bool value(int p_depth = 0) {
		skip_space();
		if (at >= length || p_depth > 256) {
			return false;
		}
		const char32_t c = text[at];
		if (c == '"') {
			return string();
		}
		if (c == '{' || c == '[') {
			const char32_t close = c == '{' ? '}' : ']';
			at++;
			skip_space();
			if (at < length && text[at] == close) {
				at++;
				return true;
			}
			while (true) {
				if (c == '{') {
					skip_space();
					if (!string()) {
						return false;
					}
					skip_space();
					if (at >= length || text[at] != ':') {
						return false;
					}
					at++;
				}
				if (!value(p_depth + 1)) {
					return false;
				}
				skip_space();
				if (at < length && text[at] == ',') {
					at++;
					continue;
				}
				if (at < length && text[at] == close) {
					at++;
					return true;
				}
				return false;
			}
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			return number();
		}
		for (const char *word : { "true", "false", "null" }) {
			const int size = (int)strlen(word);
			bool match = at + size <= length;
			for (int i = 0; match && i < size; i++) {
				match = text[at + i] == (char32_t)word[i];
			}
			if (match) {
				at += size;
				return true;
			}
		}
		return false;
	}
};

// --- writing ----------------------------------------------------------------------

// Where a value sits ("output_0[3]", "a.b"), as a chain on the writer's stack.
// The text is only made for a non-finite number: building it for every value
// cost ~1 us per array element, most of a large output's time.
struct JsonPath {
	const JsonPath *parent = nullptr;
	const String *key = nullptr; // a dictionary key, or else
	int64_t index = -1; // an array index
};

String path_text(const JsonPath *p_path) {
	if (!p_path) {
		return String();
	}
	const String parent = path_text(p_path->parent);
	if (p_path->key) {
		return parent.is_empty() ? *p_path->key : parent + "." + *p_path->key;
	}
	return parent + "[" + itos(p_path->index) + "]";
}

void write_string(const String &p_text, String &r_out) {
	r_out += "\"";
	// Runs of characters that need no escape are appended whole.
	const char32_t *text = p_text.ptr();
	const int length = p_text.length();
	int run_start = 0;
	for (int i = 0; i < length; i++) {
		const char32_t c = text[i];
		if (c != '"' && c != '\\' && c >= 0x20) {
			continue;
		}
		if (i > run_start) {
			r_out.append_utf32_unchecked(Span<char32_t>(text + run_start, i - run_start));
		}
		run_start = i + 1;
		switch (c) {
			case '"':
				r_out += "\\\"";
				break;
			case '\\':
				r_out += "\\\\";
				break;
			case '\n':
				r_out += "\\n";
				break;
			case '\r':
				r_out += "\\r";
				break;
			case '\t':
				r_out += "\\t";
				break;
			default:
				r_out += vformat("\\u%04x", (int64_t)c);
		}
	}
	if (length > run_start) {
		r_out.append_utf32_unchecked(Span<char32_t>(text + run_start, length - run_start));
	}
	r_out += "\"";
}

void write_int(int64_t p_value, String &r_out) {
	char buffer[24];
	const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), p_value);
	r_out.append_ascii(Span<char>(buffer, written.ptr - buffer));
}

void write_float(double p_value, const JsonPath *p_path, String &r_out, PackedStringArray *r_non_finite) {
	if (!std::isfinite(p_value)) {
		r_out += "null";
		if (r_non_finite) {
			r_non_finite->push_back(vformat("%s is %s", path_text(p_path), std::isnan(p_value) ? "NaN" : (p_value > 0 ? "inf" : "-inf")));
		}
		return;
	}
	char buffer[32];
	const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), p_value);
	r_out.append_ascii(Span<char>(buffer, written.ptr - buffer));
}

void write_value(const Variant &p_value, const JsonPath *p_path, String &r_out, PackedStringArray *r_non_finite, int p_depth);

template <typename Packed>
void write_packed(const Packed &p_values, const JsonPath *p_path, String &r_out, PackedStringArray *r_non_finite, bool p_floats) {
	r_out += "[";
	for (int64_t i = 0; i < p_values.size(); i++) {
		if (i) {
			r_out += ",";
		}
		if (p_floats) {
			const JsonPath element{ p_path, nullptr, i };
			write_float((double)p_values[i], &element, r_out, r_non_finite);
		} else {
			write_int((int64_t)p_values[i], r_out);
		}
	}
	r_out += "]";
}

void write_value(const Variant &p_value, const JsonPath *p_path, String &r_out, PackedStringArray *r_non_finite, int p_depth) {
	ERR_FAIL_COND_MSG(p_depth > 256, "MCP JSON nests too deep.");
	switch (p_value.get_type()) {
		case Variant::NIL:
			r_out += "null";
			return;
		case Variant::BOOL:
			r_out += bool(p_value) ? "true" : "false";
			return;
		case Variant::INT:
			write_int((int64_t)p_value, r_out);
			return;
		case Variant::FLOAT:
			write_float((double)p_value, p_path, r_out, r_non_finite);
			return;
		case Variant::STRING:
		case Variant::STRING_NAME:
		case Variant::NODE_PATH:
			write_string(p_value, r_out);
			return;
		case Variant::DICTIONARY: {
			const Dictionary dictionary = p_value;
			r_out += "{";
			bool first = true;
			for (const KeyValue<Variant, Variant> &entry : dictionary) {
				if (!first) {
					r_out += ",";
				}
				first = false;
				const String key = entry.key;
				write_string(key, r_out);
				r_out += ":";
				const JsonPath member{ p_path, &key };
				write_value(entry.value, &member, r_out, r_non_finite, p_depth + 1);
			}
			r_out += "}";
			return;
		}
		case Variant::ARRAY: {
			const Array array = p_value;
			r_out += "[";
			for (int i = 0; i < array.size(); i++) {
				if (i) {
					r_out += ",";
				}
				const JsonPath element{ p_path, nullptr, i };
				write_value(array[i], &element, r_out, r_non_finite, p_depth + 1);
			}
			r_out += "]";
			return;
		}
		case Variant::PACKED_BYTE_ARRAY:
			write_packed(PackedByteArray(p_value), p_path, r_out, r_non_finite, false);
			return;
		case Variant::PACKED_INT32_ARRAY:
			write_packed(PackedInt32Array(p_value), p_path, r_out, r_non_finite, false);
			return;
		case Variant::PACKED_INT64_ARRAY:
			write_packed(PackedInt64Array(p_value), p_path, r_out, r_non_finite, false);
			return;
		case Variant::PACKED_FLOAT32_ARRAY:
			write_packed(PackedFloat32Array(p_value), p_path, r_out, r_non_finite, true);
			return;
		case Variant::PACKED_FLOAT64_ARRAY:
			write_packed(PackedFloat64Array(p_value), p_path, r_out, r_non_finite, true);
			return;
		case Variant::PACKED_STRING_ARRAY: {
			const PackedStringArray strings = p_value;
			r_out += "[";
			for (int i = 0; i < strings.size(); i++) {
				if (i) {
					r_out += ",";
				}
				write_string(strings[i], r_out);
			}
			r_out += "]";
			return;
		}
		default:
			write_string(p_value.stringify(), r_out); // not produced by the tools; kept readable
	}
}

} // namespace

String find_raw_id(const String &p_text) {
	Scanner scanner{ p_text.ptr(), p_text.length() };
	scanner.skip_space();
	if (scanner.at >= scanner.length || scanner.text[scanner.at] != '{') {
		return String();
	}
	scanner.at++;
	String found;
	scanner.skip_space();
	if (scanner.at < scanner.length && scanner.text[scanner.at] == '}') {
		return String();
	}
	while (scanner.at < scanner.length) {
		scanner.skip_space();
		const int key_start = scanner.at;
		if (!scanner.string()) {
			return String();
		}
		const String key = p_text.substr(key_start, scanner.at - key_start);
		scanner.skip_space();
		if (scanner.at >= scanner.length || scanner.text[scanner.at] != ':') {
			return String();
		}
		scanner.at++;
		scanner.skip_space();
		const int value_start = scanner.at;
		const char32_t first = value_start < scanner.length ? scanner.text[value_start] : 0;
		if (!scanner.value()) {
			return String();
		}
		if (key == "\"id\"" && (first == '"' || first == '-' || (first >= '0' && first <= '9'))) {
			found = p_text.substr(value_start, scanner.at - value_start);
		}
		scanner.skip_space();
		if (scanner.at < scanner.length && scanner.text[scanner.at] == ',') {
			scanner.at++;
			continue;
		}
		break;
	}
	return found;
}

bool raw_id_is_number(const String &p_raw) {
	return !p_raw.is_empty() && p_raw[0] != '"';
}

String write(const Variant &p_value, PackedStringArray *r_non_finite) {
	String out;
	write_value(p_value, nullptr, out, r_non_finite, 0);
	return out;
}

String write_response(const String &p_raw_id, const Dictionary &p_rest, PackedStringArray *r_non_finite) {
	String out = "{\"jsonrpc\":\"2.0\",\"id\":";
	out += p_raw_id.is_empty() ? String("null") : p_raw_id;
	for (const KeyValue<Variant, Variant> &entry : p_rest) {
		out += ",";
		write_string(entry.key, out);
		out += ":";
		write_value(entry.value, nullptr, out, r_non_finite, 1);
	}
	return out + "}";
}

} // namespace mcp_json
