/*
 * The single entry point from untrusted bytes to json-c trees. json-c's strict
 * mode judges the structure; a second pass refuses what it lets through (raw
 * control bytes in strings, NaN/Infinity, malformed or clamped numbers, NUL
 * and lone surrogate escapes, numbers PostgreSQL would print back in a form
 * this parser refuses) and applies the exact depth limit, naming the field
 * at fault. No tree may leave without the arena owning it.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"

/* Numbers at most this long are checked in a stack buffer, longer ones in the arena. */
#define NUMBUF 64
/*
 * Hard ceiling on max_depth: json-c allocates its stack up front and frees
 * trees recursively, so an absurd setting must not become a crash.
 */
#define DEPTH_CEILING 4096

/* One open container: where the scan is inside it, to name a field in errors. */
struct frame {
	bool object;
	bool want_key;             /* the next string is a member name */
	const unsigned char *key;  /* the current member's name, raw (escapes kept) */
	size_t key_len;
	size_t index;              /* the current element of an array */
};

struct scan {
	struct pawl_arena *arena;
	const unsigned char *p;
	size_t len;
	size_t pos;
	int depth;
	int max_depth;
	struct pawl_error *err;
	struct frame *frames;      /* frames[1..depth], grown in the arena */
	size_t cap;
};

#define FRAMES_FIRST 16

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

/* "data.tags.0": the members and indexes leading to where the scan is. */
static void path_of(const struct scan *s, char *out, size_t size)
{
	size_t n = 0;
	int d;

	out[0] = '\0';
	for (d = 1; d <= s->depth && n + 1 < size; d++) {
		const struct frame *f = &s->frames[d];
		int w;

		if (f->object && f->key == NULL)
			break;
		w = f->object ? snprintf(out + n, size - n, "%s%.*s", n ? "." : "",
		    (int)f->key_len, (const char *)f->key)
		    : snprintf(out + n, size - n, "%s%zu", n ? "." : "", f->index);
		if (w < 0)
			break;
		n += (size_t)w < size - n ? (size_t)w : size - n - 1;
	}
}

static enum pawl_err bad(struct scan *s, const char *what)
{
	char name[sizeof(s->err->name)];

	path_of(s, name, sizeof(name));
	return pawl_error_invalid(s->err, PAWL_ERR_INVALID, "body", name[0] ? name : NULL,
	    "Invalid JSON: %s at offset %zu", what, s->pos);
}

static enum pawl_err too_deep(struct pawl_error *err, int max_depth)
{
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
	    "Invalid JSON: nesting deeper than %d", max_depth);
}

static int hex4(const unsigned char *t)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		unsigned char c = t[i];

		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * At a "\u" escape (json-c checked its four hex digits): refuses U+0000,
 * which jsonb cannot store and json-c cuts member names at, and surrogates
 * that are not a high one followed by a low one, which json-c would turn
 * into U+FFFD without a word (RFC 8259 section 8.2).
 */
static enum pawl_err scan_unicode(struct scan *s)
{
	const unsigned char *t = s->p + s->pos;
	int u;

	if (s->pos + 5 >= s->len)
		return bad(s, "unterminated escape");
	u = hex4(t + 2);
	if (u == 0)
		return bad(s, "\\u0000 is not allowed");
	if (u >= 0xDC00 && u <= 0xDFFF)
		return bad(s, "lone low surrogate");
	if (u >= 0xD800 && u <= 0xDBFF) {
		if (s->pos + 11 >= s->len || t[6] != '\\' || t[7] != 'u' ||
		    (u = hex4(t + 8)) < 0xDC00 || u > 0xDFFF)
			return bad(s, "lone high surrogate");
		s->pos += 6;
	}
	s->pos += 5; /* on the last hex digit */
	return PAWL_OK;
}

/* Skips a string literal from its opening quote to just past the closing one. */
static enum pawl_err scan_string(struct scan *s)
{
	enum pawl_err rc;

	for (s->pos++; s->pos < s->len; s->pos++) {
		unsigned char c = s->p[s->pos];

		if (c == '"') {
			s->pos++;
			return PAWL_OK;
		}
		if (c == '\\' && s->pos + 1 < s->len && s->p[s->pos + 1] == 'u') {
			if ((rc = scan_unicode(s)) != PAWL_OK)
				return rc;
			continue;
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

/* A number literal cut into the parts that decide how PostgreSQL prints it. */
struct number {
	bool negative;
	const unsigned char *digits; /* integer part */
	size_t int_len;
	const unsigned char *frac;   /* after the point */
	size_t frac_len;
	long exp;                    /* saturated at +-EXP_SATURATED */
};

#define EXP_SATURATED 1000000L
#define EXP_MAX 1000

static size_t parse_exp(const unsigned char *t, size_t i, size_t n, long *exp)
{
	bool neg = false;
	long v = 0;

	if (i < n && (t[i] == '+' || t[i] == '-'))
		neg = t[i++] == '-';
	for (; i < n && is_digit(t[i]); i++)
		if (v < EXP_SATURATED)
			v = v * 10 + (t[i] - '0');
	*exp = neg ? -v : v;
	return i;
}

/* RFC 8259 over the whole of t[0..n): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_grammar(const unsigned char *t, size_t n, struct number *num)
{
	size_t i = 0, d;

	memset(num, 0, sizeof(*num));
	if (i < n && t[i] == '-')
		num->negative = t[i++] == '-';
	num->digits = t + i;
	if (i < n && t[i] == '0')
		i++;
	else if (i < n && t[i] >= '1' && t[i] <= '9')
		i = skip_digits(t, i, n);
	else
		return false;
	num->int_len = (size_t)(t + i - num->digits);
	if (i < n && t[i] == '.') {
		d = ++i;
		if ((i = skip_digits(t, i, n)) == d)
			return false;
		num->frac = t + d;
		num->frac_len = i - d;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		d = i + 1 + (i + 1 < n && (t[i + 1] == '+' || t[i + 1] == '-'));
		if ((i = parse_exp(t, i + 1, n, &num->exp)) == d)
			return false;
	}
	return i == n;
}

/*
 * Whether an integer printed in full fits json-c's int64 or uint64 (json-c
 * clamps silently otherwise): its digits followed by `zeros` zeros.
 */
static bool integer_in_range(const struct number *num, long zeros)
{
	char buf[32], *end;
	size_t k = 0, i;

	if (num->negative)
		buf[k++] = '-';
	for (i = 0; i < num->int_len + num->frac_len; i++) {
		unsigned char c = i < num->int_len ? num->digits[i] : num->frac[i - num->int_len];

		if (c == '0' && k == (size_t)num->negative)
			continue; /* leading zero */
		if (k >= 22)
			return false;
		buf[k++] = (char)c;
	}
	if (k == (size_t)num->negative)
		return true; /* zero, whatever its exponent */
	if (zeros > 21 || k + (size_t)zeros >= 22)
		return false;
	for (; zeros > 0; zeros--)
		buf[k++] = '0';
	buf[k] = '\0';
	errno = 0;
	if (num->negative)
		(void)strtoll(buf, &end, 10);
	else
		(void)strtoull(buf, &end, 10);
	return errno != ERANGE;
}

/*
 * Every number must read back as it is stored. jsonb keeps the exact decimal
 * value and prints it without an exponent, with max(0, decimals - exponent)
 * digits after the point ("2e19" as 20000000000000000000, "1e-5" as
 * 0.00001). So: what prints as an integer must fit int64 or uint64, what
 * prints with decimals must be a finite double and carry at most
 * PAWL_JSON_NUMBER_DECIMALS of them (enough for every double, including
 * the smallest subnormal, and no amplification of "1e-99999" into a page
 * of zeros). Exponents beyond +-1000 are refused whatever the digits (as
 * "0e99999"): no double needs one, and older PostgreSQL releases refuse
 * them in numeric input.
 * Underflow to zero is accepted: json-c keeps the text.
 */
static const char *number_refused(const char *text, const struct number *num)
{
	long scale = (long)num->frac_len - num->exp;

	if (num->exp > EXP_MAX || num->exp < -EXP_MAX)
		return "number out of range";
	if (scale > PAWL_JSON_NUMBER_DECIMALS)
		return "number has too many decimals once written without exponent";
	if (scale <= 0)
		return integer_in_range(num, -scale) ? NULL : "number out of range";
	return isfinite(strtod(text, NULL)) ? NULL : "number out of range";
}

static enum pawl_err scan_number(struct scan *s)
{
	const unsigned char *t = s->p + s->pos;
	char local[NUMBUF], *text = local;
	const char *why;
	struct number num;
	size_t n;

	for (n = 0; s->pos + n < s->len && is_number_char(t[n]); n++)
		;
	if (!number_grammar(t, n, &num))
		return bad(s, "invalid number");
	if (n < sizeof(local)) {
		memcpy(local, t, n);
		local[n] = '\0';
	} else if ((text = pawl_arena_strndup(s->arena, (const char *)t, n)) == NULL) {
		return pawl_error_nomem(s->err);
	}
	if ((why = number_refused(text, &num)) != NULL)
		return bad(s, why);
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

/* A string: a member name when the open object expects one. */
static enum pawl_err scan_key_or_string(struct scan *s)
{
	struct frame *f = &s->frames[s->depth];
	size_t start = s->pos + 1;
	enum pawl_err rc;

	if (s->depth == 0 || !f->object || !f->want_key)
		return scan_string(s);
	/* Named before it is scanned, so that an error in the name names it. */
	f->key = s->p + start;
	f->key_len = 0;
	f->want_key = false;
	while (start + f->key_len < s->len && s->p[start + f->key_len] != '"')
		f->key_len += s->p[start + f->key_len] == '\\' ? 2 : 1;
	if (start + f->key_len > s->len)
		f->key_len = s->len - start;
	if ((rc = scan_string(s)) == PAWL_OK)
		f->key_len = s->pos - start - 1;
	return rc;
}

/* Doubles the frame stack (the old one stays in the arena until reset). */
static enum pawl_err grow(struct scan *s)
{
	size_t cap = s->cap ? s->cap * 2 : FRAMES_FIRST;
	struct frame *frames = pawl_arena_calloc(s->arena, cap, sizeof(*frames));

	if (frames == NULL)
		return pawl_error_nomem(s->err);
	if (s->cap)
		memcpy(frames, s->frames, s->cap * sizeof(*frames));
	s->frames = frames;
	s->cap = cap;
	return PAWL_OK;
}

/* Structural characters: depth, and the frame that names fields. */
static enum pawl_err scan_punct(struct scan *s, unsigned char c)
{
	struct frame *f = &s->frames[s->depth];

	if (c == '[' || c == '{') {
		if (++s->depth > s->max_depth)
			return too_deep(s->err, s->max_depth);
		if ((size_t)s->depth >= s->cap && grow(s) != PAWL_OK)
			return PAWL_ERR_NOMEM;
		f = &s->frames[s->depth];
		memset(f, 0, sizeof(*f));
		f->object = c == '{';
		f->want_key = f->object;
	} else if ((c == ']' || c == '}') && s->depth > 0) {
		s->depth--;
	} else if (c == ',' && s->depth > 0) {
		if (f->object)
			f->want_key = true;
		else
			f->index++;
	}
	s->pos++;
	return PAWL_OK;
}

/*
 * Walks a document json-c accepted, applying what its strict mode lets
 * through: exact container depth, raw control characters in strings,
 * NUL and lone surrogate escapes, NaN/Infinity and numbers that are
 * malformed or would not read back.
 */
static enum pawl_err scan(struct scan *s)
{
	enum pawl_err rc = PAWL_OK;
	unsigned char c;

	while (rc == PAWL_OK && s->pos < s->len) {
		c = s->p[s->pos];
		if (c == '"')
			rc = scan_key_or_string(s);
		else if (c == '-' || is_digit(c))
			rc = scan_number(s);
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			rc = scan_word(s);
		else
			rc = scan_punct(s, c);
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
		return pawl_error_nomem(err);
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
	struct scan s = { arena, (const unsigned char *)buf, len, 0, 0, 0, err, NULL, 0 };
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
		rc = grow(&s);
	if (rc == PAWL_OK)
		rc = scan(&s);
	if (rc != PAWL_OK) {
		json_object_put(obj);
		return rc;
	}
	if (obj == NULL)
		return PAWL_OK; /* the valid document `null` */
	if (pawl_json_own(arena, obj) == NULL)
		return pawl_error_nomem(err);
	*out = obj;
	return PAWL_OK;
}

bool pawl_json_deeper_than(json_object *obj, int max_depth)
{
	size_t i, n;

	switch (json_object_get_type(obj)) {
	case json_type_array:
		if (max_depth <= 0)
			return true;
		n = json_object_array_length(obj);
		for (i = 0; i < n; i++)
			if (pawl_json_deeper_than(json_object_array_get_idx(obj, i), max_depth - 1))
				return true;
		return false;
	case json_type_object: {
		if (max_depth <= 0)
			return true;
		json_object_object_foreach(obj, key, val) {
			(void)key;
			if (pawl_json_deeper_than(val, max_depth - 1))
				return true;
		}
		return false;
	}
	default:
		return false;
	}
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
