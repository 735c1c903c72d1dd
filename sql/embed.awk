# Turns sql/NNNN_name.sql files into a C table of migrations (version, name, SQL).
# Run by the build; the output is app/store/migrations.c.
BEGIN {
	print "/* Generated from sql/ by sql/embed.awk: do not edit. */"
	print "#include \"store/migrate.h\""
	print "const struct pawl_migration pawl_migrations[] = {"
	n = 0
}
FNR == 1 {
	if (n > 0) print "\t},"
	file = FILENAME
	sub(/.*\//, "", file)
	version = file
	sub(/_.*/, "", version)
	name = file
	sub(/^[0-9]+_/, "", name)
	sub(/\.sql$/, "", name)
	printf "\t{ %d, \"%s\",\n", version + 0, name
	n++
}
{
	line = $0
	gsub(/\\/, "\\\\", line)
	gsub(/"/, "\\\"", line)
	gsub(/\t/, "\\t", line)
	printf "\t\t\"%s\\n\"\n", line
}
END {
	if (n > 0) print "\t},"
	print "\t{ 0, 0, 0 }"
	print "};"
	printf "const unsigned pawl_migrations_count = %d;\n", n
}
