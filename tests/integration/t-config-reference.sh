#!/bin/sh
# t-config-reference: every key the configuration loader accepts is in the
# reference, docs/configuration.md (as `full.key.path` in a table) and the
# thingca.json(5) man page (as a .B full.key.path line). The keys come from
# the loader's own tables: each `static const char *const NAME[] = {...}`
# array in lib/config*.c that a config_check_keys() call uses, with the
# key path that call names. A key added to the loader without a line in
# both references fails here.
set -u
SRC=${THINGCA_SRC:?THINGCA_SRC not set}
cd "$SRC" || exit 1

perl - lib/config*.c <<'PERL'
use strict;
use warnings;
# Key tables whose path is computed at run time (listen[i], clients[i]):
# where they live. A new table of that kind must be added here.
my %dynamic = (
	'parse_listen_one:keys' => 'listen[]',
	'parse_listen_one:tls_keys' => 'listen[].tls',
	'parse_client:keys' => 'clients[]',
);
my (@paths, @bad);
for my $file (@ARGV) {
	open my $fh, '<', $file or die "$file: $!\n";
	# Cut the file into functions: a definition starts at column 0.
	my (%body, $fn);
	$fn = '';
	while (my $l = <$fh>) {
		$fn = $1 if $l =~ /^[a-z][\w \t*]*?\b(\w+)\(/ && $l !~ /;\s*$/;
		$body{$fn} .= $l;
	}
	for my $f (sort keys %body) {
		my $chunk = $body{$f};
		my %tables;
		while ($chunk =~ /static\s+const\s+char\s*\*\s*const\s+(\w+)\[\]\s*=\s*\{(.*?)\};/sg) {
			my ($name, $b) = ($1, $2);
			$tables{$name} = [$b =~ /"([^"]+)"/g];
		}
		while ($chunk =~ /config_check_keys\(\s*\w+\s*,\s*("([^"]*)"|\w+)\s*,\s*(\w+)/g) {
			my ($lit, $tab) = ($2, $3);
			my $keys = $tables{$tab};
			unless ($keys) { push @bad, "$file $f: key table $tab not found"; next; }
			my $prefix = defined $lit ? $lit : $dynamic{"$f:$tab"};
			unless (defined $prefix) {
				push @bad, "$file $f: cannot tell the key path of table $tab (add it to %dynamic)";
				next;
			}
			push @paths, map { $prefix eq '' ? $_ : "$prefix.$_" } @$keys;
		}
	}
}
my %seen;
@paths = grep { !$seen{$_}++ } @paths;

sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!\n"; local $/; my $s = <$f>; return $s; }
my $md = slurp('docs/configuration.md');
my $man = slurp('docs/thingca.json.5');
# the man page's words, without roff font escapes
(my $manplain = $man) =~ s/\\f[BIRP]//g;
$manplain =~ s/\\-/-/g;
# every key path a .B, .BR or .RB line mentions
my %manb;
for my $l (split /\n/, $manplain) {
	next unless $l =~ /^\.(B|BR|RB)\s/;
	$manb{$_} = 1 for $l =~ /([A-Za-z_]\w*(?:\[\])?(?:\.[A-Za-z_]\w*(?:\[\])?)*)/g;
}

my $n = 0;
my $failed = 0;
for my $b (@bad) { $n++; $failed++; print "not ok $n - $b\n"; }
$n++;
if (@paths >= 40) { print "ok $n - found ", scalar(@paths), " keys in the loader's tables\n"; }
else { $failed++; print "not ok $n - found only ", scalar(@paths), " keys in the loader's tables (the extraction broke?)\n"; }
for my $p (@paths) {
	$n++;
	# A table row of docs/configuration.md: | `path` | type | default | ...
	if ($md =~ /^\|\s*`\Q$p\E`\s*\|[^|\n]+\|[^|\n]+\|[^|\n]+\|/m) {
		print "ok $n - docs/configuration.md documents $p (type, default, effect)\n";
	} else {
		$failed++;
		print "not ok $n - docs/configuration.md documents $p (type, default, effect)\n";
		print "#   expected a table row | `$p` | type | default | range and effect |\n";
	}
	$n++;
	if ($manb{$p}) {
		print "ok $n - thingca.json(5) documents $p\n";
	} else {
		$failed++;
		print "not ok $n - thingca.json(5) documents $p\n";
		print "#   expected a .B $p line (or $p in a .BR line) in docs/thingca.json.5\n";
	}
}
print "1..$n\n";
exit($failed ? 1 : 0);
PERL
