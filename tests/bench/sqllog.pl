#!/usr/bin/perl
# tests/bench/sqllog.pl: reads a PostgreSQL log written with log_statement =
# all and log_line_prefix '%m [%p] ' (the local stack's), cut into sections by
# "SELECT 'pawl-bench mark: LABEL'" statements (tests/bench/run sends one
# before each request it wants to see), and turns what pawl sent into:
#
#   sqllog.pl explain < log            a psql script running every statement
#                                      again under EXPLAIN (ANALYZE, BUFFERS)
#                                      with its logged parameters; a section's
#                                      statements in one transaction, rolled back
#   sqllog.pl pgbench LABEL FILE < log a pgbench script of section LABEL's
#                                      statements, written to FILE, with every
#                                      parameter a variable; prints, separated
#                                      by NULs, the protocol pawl used
#                                      ("prepared" or "extended") and then the
#                                      variables as name=value for pgbench -D
#   sqllog.pl roundtrips LABEL < log   how many statements section LABEL sent,
#                                      BEGIN and COMMIT included
#   sqllog.pl statements LABEL < log   section LABEL's statements, normalised
#                                      (one a line: whitespace collapsed,
#                                      parameters as ?)
#   sqllog.pl script FILE              a pgbench script's statements, normalised
#                                      the same way
#
# BEGIN/COMMIT/ROLLBACK, the marks and the outbox relay's idle poll are left
# out. A statement may span lines (continuation lines carry no prefix).
use strict;
use warnings;

my $mode = shift @ARGV // '';

# Normalised text of a statement: parameters ($n or pgbench :name) as ?, a
# pgbench concatenation of variables as one ?, whitespace collapsed.
sub normalise {
	my ($sql) = @_;
	$sql =~ s/\\gset\s*$//;
	$sql =~ s/;\s*$//;
	$sql =~ s/\$\d+/?/g;
	$sql =~ s/(?<![:\w]):[A-Za-z_]\w*/?/g;
	$sql =~ s/\?(?:\s*\|\|\s*\?)+/?/g;
	$sql =~ s/\s+/ /g;
	$sql =~ s/^ | $//g;
	return $sql;
}

sub skipped {
	my ($sql) = @_;
	return $sql =~ /^\s*(BEGIN|COMMIT|ROLLBACK)\s*;?\s*$/i
	    || $sql =~ /FROM outbox GROUP BY listener, list_key/
	    || $sql =~ /pawl-bench mark/;
}

if ($mode eq 'script') {
	my $file = shift @ARGV or die "usage: sqllog.pl script FILE\n";
	open(my $fh, '<', $file) or die "$file: $!\n";
	my ($cur, @out) = ('');
	while (my $line = <$fh>) {
		next if $line =~ /^\s*--/ || $line =~ /^\s*\\/;
		$cur .= $line;
		if ($line =~ /(;|\\gset)\s*$/) {
			push @out, $cur unless skipped($cur);
			$cur = '';
		}
	}
	print normalise($_), "\n" for @out;
	exit 0;
}

# Log entries: [pid, text] with continuation lines joined.
my @entries;
while (my $line = <STDIN>) {
	chomp $line;
	if ($line =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (.*)$/) {
		push @entries, [$1, $2];
	} elsif (@entries) {
		$entries[-1][1] .= "\n" . $line;
	}
}

my @sections;    # [label, [ {pid, sql, params, named} ... ], {pid => BEGIN/COMMIT count}]
my %last;        # pid -> the statement waiting for its parameters
for my $e (@entries) {
	my ($pid, $text) = @$e;
	if ($text =~ /^LOG:  statement: SELECT 'pawl-bench mark: (.*)'\s*$/s) {
		push @sections, [$1, [], {}];
		next;
	}
	next unless @sections;
	if ($text =~ /^LOG:  execute ([^:]*): (.*)$/s || $text =~ /^LOG:  statement: (.*)$/s) {
		my ($name, $sql) = defined $2 ? ($1, $2) : ('', $1);
		delete $last{$pid};
		next if $sql =~ /pawl-bench mark/ || $sql =~ /FROM outbox GROUP BY listener, list_key/;
		my $st = { pid => $pid, sql => $sql, params => undef, named => ($name ne '' && $name ne '<unnamed>') };
		if (skipped($sql)) {
			$sections[-1][2]{$pid}++;    # BEGIN, COMMIT: statements all the same
			next;
		}
		push @{ $sections[-1][1] }, $st;
		$last{$pid} = $st;
		next;
	}
	if ($text =~ /^DETAIL:  parameters: (.*)$/s && $last{$pid}) {
		$last{$pid}{params} = $1;
		delete $last{$pid};
	}
}

# A section keeps the statements of the backend that served the request: the
# first to touch the objects table. The outbox relay's own statements, sent
# on its connection meanwhile, are not the request's.
for my $s (@sections) {
	my ($first) = grep { $_->{sql} =~ /\bobjects\b/ } @{ $s->[1] };
	next unless $first;
	$s->[1] = [ grep { $_->{pid} eq $first->{pid} } @{ $s->[1] } ];
	$s->[2] = { $first->{pid} => $s->[2]{ $first->{pid} } // 0 };
}

# The logged "parameters: $1 = '...', $2 = NULL" as SQL literals, by number.
sub literals {
	my ($text) = @_;
	my @vals;
	while ($text =~ /\$(\d+) = ('(?:[^']|'')*'|NULL)/g) {
		$vals[$1 - 1] = $2;
	}
	return map { defined $_ ? $_ : 'NULL' } @vals;
}

sub section {
	my ($label) = @_;
	for my $s (@sections) {
		return $s->[1] if $s->[0] eq $label;
	}
	die "sqllog.pl: no section '$label' in the log\n";
}

if ($mode eq 'roundtrips') {
	my $label = shift @ARGV or die "usage: sqllog.pl roundtrips LABEL\n";
	for my $s (@sections) {
		next unless $s->[0] eq $label;
		my $bc = 0;
		$bc += $_ for values %{ $s->[2] };
		print scalar(@{ $s->[1] }) + $bc, "\n";
		exit 0;
	}
	die "sqllog.pl: no section '$label' in the log\n";
}

if ($mode eq 'statements') {
	my $label = shift @ARGV or die "usage: sqllog.pl statements LABEL\n";
	print normalise($_->{sql}), "\n" for @{ section($label) };
	exit 0;
}

if ($mode eq 'pgbench') {
	my ($label, $file) = @ARGV;
	die "usage: sqllog.pl pgbench LABEL FILE\n" unless defined $file;
	my $stmts = section($label);
	die "sqllog.pl: section '$label' holds no statement\n" unless @$stmts;
	my (@vars, $named) = ();
	open(my $fh, '>', $file) or die "$file: $!\n";
	print $fh "-- Written by tests/bench/run from PostgreSQL's log of a real request ($label,\n";
	print $fh "-- log_statement = all): the statements pawl sent, in order, each parameter a\n";
	print $fh "-- variable the run defines with -D (pgbench numbers every use of a variable as\n";
	print $fh "-- a parameter of its own). Rewritten at every run: a diff means the SQL changed.\n";
	my $k = 0;
	for my $st (@$stmts) {
		$k++;
		$named = 1 if $st->{named};
		my @args = defined $st->{params} ? literals($st->{params}) : ();
		my $sql = $st->{sql};
		my %empty;
		for my $i (0 .. $#args) {
			my $v = $args[$i];
			die "sqllog.pl: NULL parameter in '$label'\n" if $v eq 'NULL';
			$v =~ s/^'//;
			$v =~ s/'$//;
			$v =~ s/''/'/g;
			# pgbench -D refuses an empty value (a top-level list's parent_id): inlined.
			if ($v eq '') {
				$empty{$i + 1} = 1;
				next;
			}
			push @vars, "s${k}p" . ($i + 1) . "=$v";
		}
		$sql =~ s/\$(\d+)/$empty{$1} ? "''" : ":s${k}p$1"/ge;
		$sql =~ s/\s*;?\s*$/;/;
		print $fh "$sql\n";
	}
	close($fh);
	print join("\0", ($named ? 'prepared' : 'extended'), @vars), "\0";
	exit 0;
}

die "usage: sqllog.pl explain|pgbench|roundtrips|statements|script ...\n" unless $mode eq 'explain';

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
		my ($pid, $sql, $params) = @{$st}{qw(pid sql params)};
		$n++;
		my @args = defined $params ? literals($params) : ();
		print "SELECT ", dollar_quote("\n-- [backend $pid] $sql"), ";\n";
		print "SELECT ", dollar_quote("-- parameters: $params"), ";\n" if defined $params;
		# A statement with parameters is prepared and executed with the logged
		# values: the custom plan for them.
		if (@args) {
			my $exec = "EXECUTE pb_$n(" . join(', ', @args) . ")";
			print "PREPARE pb_$n AS $sql;\n";
			print "EXPLAIN (ANALYZE, BUFFERS) $exec;\n";
			# pawl prepared it: after five executions the server may keep a
			# generic plan instead; show that one too.
			if ($st->{named}) {
				print "SET LOCAL plan_cache_mode = force_generic_plan;\n";
				print "SELECT ", dollar_quote("-- generic plan (a prepared statement may switch to it):"), ";\n";
				print "EXPLAIN (ANALYZE, BUFFERS) $exec;\n";
				print "SET LOCAL plan_cache_mode = auto;\n";
			}
			print "DEALLOCATE pb_$n;\n";
		} else {
			print "EXPLAIN (ANALYZE, BUFFERS) $sql;\n";
		}
	}
	print "ROLLBACK;\n";
}
