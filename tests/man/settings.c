/*
 * tests/man/settings: prints, from the tables pawl itself checks settings
 * against (app/core/config_keys.c), what pawl.ini(5) must say about them.
 *
 *   settings mdoc   the generated part of man/pawl.ini.5 (between its
 *                   BEGIN GENERATED and END GENERATED lines): every setting,
 *                   its values, default and environment variable
 *   settings keys   one line per setting the page must describe with an
 *                   `.It` entry (placeholders as <name>)
 *
 * `make man-update` splices the first into the page; tests/man/check
 * regenerates both and fails when the page drifted from the tables.
 */
#include <stdio.h>
#include <string.h>

#include "core/config_keys.h"

/* PAWL_<KEY>: the rule of env_name() in app/core/config.c. */
static void env_text(const char *key, char *buf, size_t size)
{
	size_t i = (size_t)snprintf(buf, size, "PAWL_");

	for (; *key != '\0' && i + 1 < size; key++, i++)
		buf[i] = (*key == '.' || *key == '-' || *key == ':') ? '_' :
		    (*key >= 'a' && *key <= 'z') ? (char)(*key - 'a' + 'A') : *key;
	buf[i] = '\0';
}

/*
 * A key pattern as mdoc macro arguments: literal runs under `lit` (Cm, Ev),
 * <placeholders> as Ar, joined with Ns: "event_listeners.<alias>.url" →
 * "Cm event_listeners. Ns Ar alias Ns Cm .url".
 */
static void print_pattern(const char *lit, const char *p)
{
	const char *sep = "";

	while (*p != '\0') {
		size_t n;

		if (*p == '<') {
			n = strcspn(p + 1, ">");
			printf("%sAr %.*s", sep, (int)n, p + 1);
			p += n + 1 + (p[n + 1] == '>');
		} else {
			n = strcspn(p, "<");
			/* A run ending in '.' or '_' is no sentence end: \& says so. */
			printf("%s%s %.*s%s", sep, lit, (int)n, p,
			    strchr(".,:;", p[n - 1]) != NULL ? "\\&" : "");
			p += n;
		}
		sep = " Ns ";
	}
}

/* "a, b or c" for a NULL-terminated list. */
static void print_choices(const char *const *c)
{
	size_t n = 0, i;

	while (c[n] != NULL)
		n++;
	for (i = 0; i < n; i++)
		printf("%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", c[i]);
}

/* A bound in roff: a minus sign, not a hyphen. */
static void print_bound(long long v, bool octal)
{
	if (octal)
		printf("0%llo", v);
	else if (v < 0)
		printf("\\-%lld", -v);
	else
		printf("%lld", v);
}

static void print_values(const struct pawl_config_key *k)
{
	switch (k->type) {
	case PAWL_CONFIG_STRING: printf("string"); break;
	case PAWL_CONFIG_BOOL: printf("boolean"); break;
	case PAWL_CONFIG_INT:
	case PAWL_CONFIG_MODE:
		printf("%s ", k->type == PAWL_CONFIG_MODE ? "octal mode" : "integer");
		print_bound(k->min, k->type == PAWL_CONFIG_MODE);
		printf(" to ");
		print_bound(k->max, k->type == PAWL_CONFIG_MODE);
		break;
	case PAWL_CONFIG_ENUM: print_choices(k->choices); break;
	case PAWL_CONFIG_LIST:
		printf("list");
		if (k->choices != NULL) {
			printf(" of ");
			print_choices(k->choices);
		}
		break;
	}
	if (k->optional && k->type != PAWL_CONFIG_LIST && k->type != PAWL_CONFIG_STRING)
		printf(", or empty");
}

/* One entry: the key (a pattern when prefix is set), its values, default, variable. */
static void print_entry(const char *prefix, const struct pawl_config_key *k)
{
	char key[256], env[256];

	snprintf(key, sizeof(key), "%s%s", prefix, k->key);
	env_text(key, env, sizeof(env));
	printf(".It ");
	print_pattern("Cm", key);
	printf("\n");
	print_values(k);
	if (k->def == NULL)
		printf("; %s;\n", k->optional ? "optional" : "required");
	else if (k->def[0] == '\0')
		printf("; %s;\n", k->type == PAWL_CONFIG_STRING || k->type == PAWL_CONFIG_LIST ?
		    "default empty" : "unset by default");
	else
		printf("; default\n.Ql \"%s\" ;\n", k->def);
	printf(".");
	print_pattern("Ev", env);
	printf("\n");
}

static void print_rows(const char *prefix, const struct pawl_config_key *rows, size_t n)
{
	size_t i;

	printf(".Bl -tag -width Ds -compact\n");
	for (i = 0; i < n; i++)
		print_entry(prefix, &rows[i]);
	printf(".El\n");
}

/* One macro line per word, a comma after each but the last, which gets last. */
static void print_word_list(const char *lit, const char *const *words, const char *last)
{
	for (; *words != NULL; words++)
		printf(".%s %s%s%s%s\n", lit, *words,
		    strchr(".,:;", (*words)[strlen(*words) - 1]) != NULL ? "\\&" : "",
		    words[1] != NULL ? " ," : *last ? " " : "", words[1] != NULL ? "" : last);
}

static void print_ignored(void)
{
	const char *const *prefixes, *const *suffixes;
	const char *const *keys = pawl_config_keys_ignored(&prefixes, &suffixes);

	printf(".Ss Kinto settings accepted and ignored\n"
	    "An existing Kinto or Cliquet file may carry these; each is accepted with a\n"
	    "warning in the log and has no effect:\n");
	print_word_list("Cm", keys, ";");
	printf("and every key starting with\n");
	print_word_list("Cm", prefixes, "");
	printf("or ending with\n");
	print_word_list("Cm", suffixes, ".");
}

static void print_mdoc(void)
{
	const struct pawl_config_key *rows;
	size_t n;

	printf(".Ss Every setting\n"
	    "What each setting takes, its default, and the environment variable that\n"
	    "overrides it; the settings are described by topic under\n"
	    ".Sx DESCRIPTION .\n");
	rows = pawl_config_keys_table(&n);
	print_rows("", rows, n);
	printf(".Ss Options of each listener\n"
	    "For each alias named in\n"
	    ".Cm event_listeners .\n"
	    "A plugin's own options are not checked by pawl; only those the file sets\n"
	    "are overridden by their variables.\n");
	rows = pawl_config_keys_listener(&n);
	print_rows("event_listeners.<alias>.", rows, n);
	printf(".Ss Options of each declared resource\n"
	    "For each name in\n"
	    ".Cm resources .\n");
	rows = pawl_config_keys_resource(&n);
	print_rows("resources.<name>.", rows, n);
	printf(".Ss Families\n"
	    "Settings named by pattern, kept for the requests they govern.\n"
	    "Their variables override only a value the file sets.\n");
	rows = pawl_config_keys_families(&n);
	print_rows("", rows, n);
	print_ignored();
}

static void print_keys(void)
{
	const struct pawl_config_key *rows;
	size_t n, i;

	rows = pawl_config_keys_table(&n);
	for (i = 0; i < n; i++)
		printf("%s\n", rows[i].key);
	rows = pawl_config_keys_listener(&n);
	for (i = 0; i < n; i++)
		printf("event_listeners.<alias>.%s\n", rows[i].key);
	rows = pawl_config_keys_resource(&n);
	for (i = 0; i < n; i++)
		printf("resources.<name>.%s\n", rows[i].key);
	rows = pawl_config_keys_families(&n);
	for (i = 0; i < n; i++)
		printf("%s\n", rows[i].key);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "mdoc") == 0)
		print_mdoc();
	else if (argc == 2 && strcmp(argv[1], "keys") == 0)
		print_keys();
	else {
		fprintf(stderr, "usage: %s mdoc|keys\n", argv[0]);
		return 2;
	}
	return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
}
