/*
 * The single entry point from untrusted bytes to json-c trees. json-c's strict
 * mode judges the structure; a second pass refuses what it lets through (raw
 * control bytes in strings, NaN/Infinity, malformed or clamped numbers) and
 * applies the exact depth limit. No tree may leave without the arena owning it.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pawl/json.h"
#include "pawl/str.h"

/* Numbers at most this long are checked in a stack buffer, longer ones in the arena. */
#define NUMBUF 64
/*
 * Hard ceiling on max_depth: json-c allocates its stack up front and frees
 * trees recursively, so an absurd setting must not become a crash.
 */
#define DEPTH_CEILING 4096

struct scan {
	struct pawl_arena *arena;
	const unsigned char *p;
	size_t len;
	size_t pos;
	int depth;
	int max_depth;
	struct pawl_error *err;
};

static void put(void *obj)
{
	json_object_put(obj);
}

json_object *pawl_json_own(struct pawl_arena *arena, json_object *obj)
{
	if (obj == NULL)
		return NULL;
	if (pawl_arena_defer(arena, put, obj) != 0)
		return NULL; /* obj was put already */
	return obj;
}

static enum pawl_err bad(struct scan *s, const char *what)
{
	return pawl_error_invalid(s->err, PAWL_ERR_INVALID, "body", NULL,
	    "Invalid JSON: %s at offset %zu", what, s->pos);
}

static enum pawl_err too_deep(struct pawl_error *err, int max_depth)
{
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
	    "Invalid JSON: nesting deeper than %d", max_depth);
}

/* Skips a string literal from its opening quote to just past the closing one. */
static enum pawl_err scan_string(struct scan *s)
{
	for (s->pos++; s->pos < s->len; s->pos++) {
		unsigned char c = s->p[s->pos];

		if (c == '"') {
			s->pos++;
			return PAWL_OK;
		}
		if (c == '\\' && ++s->pos < s->len)
			c = s->p[s->pos]; /* json-c judges the escape itself */
		if (c < 0x20)
			return bad(s, "control character in string");
	}
	return bad(s, "unterminated string");
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_number_char(unsigned char c)
{
	return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static size_t skip_digits(const unsigned char *t, size_t i, size_t n)
{
	while (i < n && is_digit(t[i]))
		i++;
	return i;
}

/* RFC 8259 over the whole of t[0..n): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_grammar(const unsigned char *t, size_t n, bool *integral)
{
	size_t i = 0, d;

	*integral = true;
	if (i < n && t[i] == '-')
		i++;
	if (i < n && t[i] == '0')
		i++;
	else if (i < n && t[i] >= '1' && t[i] <= '9')
		i = skip_digits(t, i, n);
	else
		return false;
	if (i < n && t[i] == '.') {
		*integral = false;
		d = ++i;
		if ((i = skip_digits(t, i, n)) == d)
			return false;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		*integral = false;
		if (++i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		d = i;
		if ((i = skip_digits(t, i, n)) == d)
			return false;
	}
	return i == n;
}

/*
 * True when json-c can hold the number: integers must fit int64 or uint64
 * (json-c clamps silently otherwise), other numbers must be finite doubles.
 * Underflow to zero is accepted; json-c keeps the original text for output.
 */
static bool number_in_range(const char *text, bool integral)
{
	char *end;

	errno = 0;
	if (!integral)
		return isfinite(strtod(text, &end));
	if (text[0] == '-')
		(void)strtoll(text, &end, 10);
	else
		(void)strtoull(text, &end, 10);
	return errno != ERANGE;
}

static enum pawl_err scan_number(struct scan *s)
{
	const unsigned char *t = s->p + s->pos;
	char local[NUMBUF], *text = local;
	bool integral;
	size_t n;

	for (n = 0; s->pos + n < s->len && is_number_char(t[n]); n++)
		;
	if (!number_grammar(t, n, &integral))
		return bad(s, "invalid number");
	if (n < sizeof(local)) {
		memcpy(local, t, n);
		local[n] = '\0';
	} else if ((text = pawl_arena_strndup(s->arena, (const char *)t, n)) == NULL) {
		return pawl_error_set(s->err, PAWL_ERR_NOMEM, "Out of memory parsing JSON");
	}
	if (!number_in_range(text, integral))
		return bad(s, "number out of range");
	s->pos += n;
	return PAWL_OK;
}

/* Bare words: only the three JSON literals (json-c would take NaN and Infinity). */
static enum pawl_err scan_word(struct scan *s)
{
	static const char *const words[] = { "true", "false", "null" };
	const unsigned char *t = s->p + s->pos;
	size_t n, i;

	for (n = 0; s->pos + n < s->len && ((t[n] >= 'a' && t[n] <= 'z') ||
	    (t[n] >= 'A' && t[n] <= 'Z')); n++)
		;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) == n && memcmp(words[i], t, n) == 0) {
			s->pos += n;
			return PAWL_OK;
		}
	}
	return bad(s, "unexpected word");
}

/*
 * Walks a document json-c accepted, applying what its strict mode lets
 * through: exact container depth, raw control characters in strings,
 * NaN/Infinity and numbers that are malformed or out of range.
 */
static enum pawl_err scan(struct scan *s)
{
	enum pawl_err rc = PAWL_OK;
	unsigned char c;

	while (rc == PAWL_OK && s->pos < s->len) {
		c = s->p[s->pos];
		if (c == '"') {
			rc = scan_string(s);
		} else if (c == '-' || is_digit(c)) {
			rc = scan_number(s);
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			rc = scan_word(s);
		} else {
			if ((c == '[' || c == '{') && ++s->depth > s->max_depth)
				return too_deep(s->err, s->max_depth);
			if ((c == ']' || c == '}') && s->depth > 0)
				s->depth--;
			s->pos++;
		}
	}
	return rc;
}

static bool only_space(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
			return false;
	return true;
}

/*
 * Runs json-c. Its depth limit is max_depth + 1 because its stack also counts
 * the top-level slot; scan() enforces the exact limit. On success *out is the
 * tree, or NULL for the document `null`; the caller owns it.
 */
static enum pawl_err tokenize(const char *buf, size_t len, int max_depth,
    json_object **out, struct pawl_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(max_depth + 1);
	enum json_tokener_error jerr;
	json_object *obj;
	size_t end;

	if (tok == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "Out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A top-level number or literal is complete only at the end. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_success && end < len && !only_space(buf + end, len - end)) {
		json_object_put(obj);
		jerr = json_tokener_error_parse_unexpected;
	}
	if (jerr == json_tokener_success) {
		*out = obj;
		return PAWL_OK;
	}
	if (jerr == json_tokener_error_depth)
		return too_deep(err, max_depth);
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
	    "Invalid JSON: %s at offset %zu", json_tokener_error_desc(jerr), end);
}

enum pawl_err pawl_json_parse(struct pawl_arena *arena, const char *buf, size_t len,
    int max_depth, json_object **out, struct pawl_error *err)
{
	struct scan s = { arena, (const unsigned char *)buf, len, 0, 0, 0, err };
	json_object *obj = NULL;
	const char *nul;
	enum pawl_err rc;

	*out = NULL;
	s.max_depth = max_depth < 0 ? 0 : max_depth > DEPTH_CEILING ? DEPTH_CEILING : max_depth;
	if (len > INT_MAX - 1)
		return pawl_error_set(err, PAWL_ERR_TOO_LARGE, "Request body too large");
	if (len == 0 || only_space(buf, len))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Invalid JSON: body is empty");
	if (!pawl_str_utf8_valid(buf, len))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Invalid JSON: body is not valid UTF-8");
	if ((nul = memchr(buf, '\0', len)) != NULL)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Invalid JSON: NUL byte at offset %zu", (size_t)(nul - buf));
	/* json-c first, for its messages on structure; then the stricter scan. */
	rc = tokenize(buf, len, s.max_depth, &obj, err);
	if (rc == PAWL_OK)
		rc = scan(&s);
	if (rc != PAWL_OK) {
		json_object_put(obj);
		return rc;
	}
	if (obj == NULL)
		return PAWL_OK; /* the valid document `null` */
	if (pawl_json_own(arena, obj) == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "Out of memory parsing JSON");
	*out = obj;
	return PAWL_OK;
}

const char *pawl_json_compact(struct pawl_arena *arena, json_object *obj, size_t *len)
{
	const char *s;
	size_t n = 0;
	char *copy;

	if (len != NULL)
		*len = 0;
	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL)
		return NULL;
	copy = pawl_arena_strndup(arena, s, n);
	if (copy != NULL && len != NULL)
		*len = n;
	return copy;
}
