#!/bin/sh
# t-manpages: thingca(1) and `thingca COMMAND --help` agree. The commands
# are the ones `thingca --help` lists (one a line); for each, `--help`
# exits 0 with a usage line naming that command (not another one's), and
# the long options it prints are exactly those of the command's entry in
# thingca(1) (docs/thingca.1, the .TP/.B entry that starts with the
# command's name). thingcad --help and thingcad(8) likewise.
set -u
SRC=${THINGCA_SRC:?THINGCA_SRC not set}
BIN=${THINGCA_BIN:?THINGCA_BIN not set}
cd "$SRC" || exit 1

THINGCA=$BIN/thingca THINGCAD=$BIN/thingcad perl - docs/thingca.1 docs/thingcad.8 <<'PERL'
use strict;
use warnings;
my ($man1, $man8) = @ARGV;
my $tca = $ENV{THINGCA};
my ($n, $failed) = (0, 0);
sub ok { my ($c, $d, @diag) = @_; $n++; if ($c) { print "ok $n - $d\n" } else { $failed++; print "not ok $n - $d\n", map { "#   $_\n" } @diag } }
sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!\n"; local $/; my $s = <$f>; return $s; }
sub plain { my $s = shift; $s =~ s/\\f[BIRP]//g; $s =~ s/\\-/-/g; $s =~ s/\\\(..//g; return $s; }
# Options of other programs named in the text (aws iot ... --registration-config,
# pkcs11-tool --keypairgen) are not the command's own.
sub own { my $s = shift; $s =~ s/\b(aws|pkcs11-tool|openssl|curl|systemctl)\b[^\n)"]*//g; return $s; }
sub opts { my %o = map { $_ => 1 } ($_[0] =~ /(?<![\w-])(--[a-z][a-z0-9-]*)/g); delete $o{'--help'}; return \%o; }
sub diff { my ($a, $b) = @_; return sort grep { !$b->{$_} } keys %$a; }

# The commands of the top-level help: "  ca init [...]" -> "ca init".
my $top = `$tca --help`;
ok($? == 0, "thingca --help exits 0");
my @cmds;
for my $l (split /\n/, $top) {
	next unless $l =~ /^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?=\s|$)/;
	my $c = $1;
	# "ledger list" but "revoke CERT_ID": the second word is a
	# subcommand only when it is lowercase and not an argument name.
	$c =~ s/ .*// if $l =~ /^  [a-z-]+ [A-Z(\[-]/;
	push @cmds, $c;
}
ok(@cmds >= 15, "thingca --help lists the commands, one a line (found " . scalar(@cmds) . ")");
# Every subcommand a command's own help knows is in the top-level list.
my %listed = map { $_ => 1 } @cmds;
my %tops = map { (split / /)[0] => 1 } grep { / / } @cmds;
for my $t (sort keys %tops) {
	my $h = `$tca $t --help 2>&1`;
	my %subs;
	$subs{$1} = 1 while $h =~ /\bthingca (?:\[-c FILE\] )?\Q$t\E ([a-z][a-z-]+)/g;
	if ($h =~ /^subcommands:(.*)$/m) { $subs{$_} = 1 for split ' ', $1; }
	my @unlisted = grep { !$listed{"$t $_"} } sort keys %subs;
	ok(!@unlisted, "thingca --help lists every $t subcommand", "not listed: @unlisted");
}

# The entries of thingca(1): ".TP" then ".B <command> ...".
my @lines = split /\n/, slurp($man1);
my %entry;
my $cur;
for (my $i = 0; $i < @lines; $i++) {
	if ($lines[$i] =~ /^\.(SS|SH)\b/) { undef $cur; next; }
	if ($lines[$i] eq '.TP' && $i + 1 < @lines && $lines[$i + 1] =~ /^\.B (.*)$/) {
		my $head = plain($1);
		my ($name) = grep { $head =~ /^\Q$_\E(\s|$)/ } sort { length($b) <=> length($a) } @cmds;
		$cur = $name;
		$entry{$cur} = '' if defined $cur;
		next;
	}
	$entry{$cur} .= plain($lines[$i]) . "\n" if defined $cur;
}

for my $c (@cmds) {
	my $help = `$tca $c --help 2>&1`;
	my $rc = $? >> 8;
	ok($rc == 0, "thingca $c --help exits 0", "got exit $rc");
	my ($first) = split /\n/, $help;
	$first //= '';
	ok(($first =~ /^usage: thingca (\[-c FILE\] )?\Q$c\E(\s|$)/) ? 1 : 0,
		"thingca $c --help prints the usage of $c",
		"first line: $first");
	if (!defined $entry{$c}) {
		ok(0, "thingca(1) has an entry for $c", "no .TP/.B $c line in $man1");
		next;
	}
	my ($h, $m) = (opts(own($help)), opts(own($entry{$c})));
	my @missing = diff($h, $m);
	ok(!@missing, "thingca(1) documents every option of thingca $c --help", "missing in thingca(1): @missing");
	my @extra = diff($m, $h);
	ok(!@extra, "thingca $c --help shows every option thingca(1) gives it", "missing in --help: @extra");
}

# thingcad(8): its OPTIONS section against thingcad --help.
my $d = `$ENV{THINGCAD} --help 2>&1`;
ok($? == 0, "thingcad --help exits 0");
my ($opts8) = plain(slurp($man8)) =~ /^\.SH OPTIONS\n(.*?)^\.SH /ms;
my ($h8, $m8) = (opts($d), opts($opts8 // ''));
my @miss8 = diff($h8, $m8);
ok(!@miss8, "thingcad(8) documents every option of thingcad --help", "missing: @miss8");
my @extra8 = diff($m8, $h8);
ok(!@extra8, "thingcad --help shows every option of thingcad(8)", "missing: @extra8");

print "1..$n\n";
exit($failed ? 1 : 0);
PERL
