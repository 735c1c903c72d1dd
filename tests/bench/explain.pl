#!/usr/bin/perl
# tests/bench/explain.pl: turns a PostgreSQL log written with
# log_statement = all into a psql script that runs every logged statement
# again under EXPLAIN (ANALYZE, BUFFERS), with its logged parameters.
#
# Sections start at a "SELECT 'pawl-bench mark: LABEL'" statement (tests/bench/run
# sends one before each request); a section's statements run in one
# transaction that is rolled back, so writes leave nothing behind.
# BEGIN/COMMIT/ROLLBACK, the marks themselves and the outbox relay's idle
# poll are left out. Reads stdin, writes the psql script to stdout.
use strict;
use warnings;

my @sections;    # [label, [ [pid, sql, params], ... ] ]
my %last;        # pid -> the statement waiting for its parameters

while (my $line = <STDIN>) {
	chomp $line;
	my ($pid) = $line =~ /\[(\d+)\]/;
	next unless defined $pid;
	if ($line =~ /LOG:  statement: SELECT 'pawl-bench mark: (.*)'\s*$/) {
		push @sections, [$1, []];
		next;
	}
	next unless @sections;
	if ($line =~ /LOG:  execute [^:]*: (.*)$/ || $line =~ /LOG:  statement: (.*)$/) {
		my $sql = $1;
		delete $last{$pid};
		next if $sql =~ /^\s*(BEGIN|COMMIT|ROLLBACK)\s*;?\s*$/i;
		next if $sql =~ /FROM outbox GROUP BY listener, list_key/;
		next if $sql =~ /pawl-bench mark/;
		my $st = [$pid, $sql, undef];
		push @{ $sections[-1][1] }, $st;
		$last{$pid} = $st;
		next;
	}
	if ($line =~ /DETAIL:  parameters: (.*)$/ && $last{$pid}) {
		$last{$pid}[2] = $1;
		delete $last{$pid};
	}
}

# The logged "parameters: $1 = '...', $2 = NULL" as a list of SQL literals.
sub literals {
	my ($text) = @_;
	my @vals;
	while ($text =~ /\$(\d+) = ('(?:[^']|'')*'|NULL)/g) {
		$vals[$1 - 1] = $2;
	}
	return map { defined $_ ? $_ : 'NULL' } @vals;
}

sub dollar_quote {
	my ($s) = @_;
	my $tag = 'pb';
	$tag .= 'x' while index($s, "\$$tag\$") >= 0;
	return "\$$tag\$$s\$$tag\$";
}

print "\\set ON_ERROR_STOP 0\n\\pset format unaligned\n\\pset tuples_only on\n\\pset footer off\n";
my $n = 0;
for my $section (@sections) {
	my ($label, $stmts) = @$section;
	next if $label eq 'end';
	print "SELECT ", dollar_quote("\n======== $label"), ";\n";
	print "BEGIN;\n";
	for my $st (@$stmts) {
		my ($pid, $sql, $params) = @$st;
		$n++;
		my @args = defined $params ? literals($params) : ();
		print "SELECT ", dollar_quote("\n-- [backend $pid] $sql"), ";\n";
		print "SELECT ", dollar_quote("-- parameters: $params"), ";\n" if defined $params;
		# A statement sent without parameters runs as it is; one with
		# parameters is prepared exactly as the server planned it (custom
		# plan for the given values, like an unnamed statement).
		if (@args) {
			print "PREPARE pb_$n AS $sql;\n";
			print "EXPLAIN (ANALYZE, BUFFERS) EXECUTE pb_$n(", join(', ', @args), ");\n";
			print "DEALLOCATE pb_$n;\n";
		} else {
			print "EXPLAIN (ANALYZE, BUFFERS) $sql;\n";
		}
	}
	print "ROLLBACK;\n";
}
