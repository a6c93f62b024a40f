#!/usr/bin/perl
# docs-run.pl — runs the command blocks of Markdown documents, as a reader
# would type them, and reports each command as a TAP test.
#
#   perl docs-run.pl WORKDIR DOC.md...
#
# What runs:
# - fenced blocks whose info string holds the word "test" (```sh test);
#   every other block is prose to the runner;
# - hidden set-up, `<!-- doc-test` ... `-->`: commands a reader has already
#   run elsewhere (make run in another terminal) or stand-ins for what only
#   AWS gives (a registration code). Keep them few; they are in the source
#   for anyone to read.
#
# How:
# - each document runs in its own empty directory WORKDIR/<name>, in one
#   bash, its commands in file order, so cd, variables and files carry
#   over from one block to the next; PATH starts with $THINGCA_BIN;
# - a command is one physical line plus its continuations (a trailing
#   backslash, |, && or ||; an open quote; a here-document);
# - a command whose last line ends in `# needs: WHAT` (aws, internet, root,
#   hardware, ...) is not run: it is reported as a TAP skip, and the skips
#   are counted in the summary;
# - the port numbers 8180 and 8443 in tested text are replaced by free
#   loopback ports, so a test never collides with a `make run` or another
#   test on this machine;
# - a command fails on a non-zero exit status (or, when its last line's
#   comment says `exits N`, on any other status); its output is shown as
#   TAP diagnostics;
# - processes a document starts in the background (`thingcad ... &`) are
#   stopped by PID when the document ends (TERM, then KILL after 10 s);
#   a document gets DOC_TIMEOUT seconds (default 300) in all, after which
#   timeout(1) stops its whole process group.
use strict;
use warnings;
use File::Path qw(make_path);
use IO::Socket::INET;

my ($work, @docs) = @ARGV;
die "usage: docs-run.pl WORKDIR DOC.md...\n" unless $work && @docs;
my $bin = $ENV{THINGCA_BIN} or die "THINGCA_BIN must name the build directory\n";
my $timeout = $ENV{DOC_TIMEOUT} || 300;

my ($n, $failed, $skipped) = (0, 0, 0);
my %taken;

# A loopback TCP port nobody listens on now (and not handed out before).
sub free_port {
	for (1 .. 100) {
		my $p = 20000 + int(rand(40000));
		next if $taken{$p};
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
			Proto => 'tcp', Listen => 1, ReuseAddr => 1) or next;
		close $s;
		$taken{$p} = 1;
		return $p;
	}
	die "no free port\n";
}

# Shell state at the end of one line: are we inside a quote? Follows '...',
# "..." (with backslash escapes) and comments outside quotes; enough for
# documentation, not a shell parser. Returns the new state ('', "'", '"').
sub quote_state {
	my ($line, $q) = @_;
	my @c = split //, $line;
	for (my $i = 0; $i < @c; $i++) {
		my $ch = $c[$i];
		if ($q eq "'") {
			$q = '' if $ch eq "'";
		} elsif ($q eq '"') {
			if ($ch eq '\\') { $i++; next; }
			$q = '' if $ch eq '"';
		} else {
			if ($ch eq '\\') { $i++; next; }
			last if $ch eq '#' && ($i == 0 || $c[$i - 1] =~ /\s/);
			$q = $ch if $ch eq "'" || $ch eq '"';
		}
	}
	return $q;
}

# Splits a block's lines (each [lineno, text]) into commands: [first lineno,
# text]. Blank lines and comment-only lines between commands are dropped.
sub commands {
	my @lines = @_;
	my (@cmds, @cur, $q, $heredoc);
	$q = '';
	for my $l (@lines) {
		my ($no, $t) = @$l;
		if (!@cur) {
			next if $t =~ /^\s*(#.*)?$/;
		}
		push @cur, $l;
		if (defined $heredoc) {
			undef $heredoc if $t =~ /^\t*\Q$heredoc\E\s*$/;
			next if defined $heredoc;
		} else {
			$q = quote_state($t, $q);
			next if $q ne '';
			if ($t =~ /<<-?\s*['"]?(\w+)['"]?/) {
				$heredoc = $1;
				next;
			}
			(my $code = $t) =~ s/\s+#.*$//;
			next if $code =~ /(\\|\||&&|\|\|)\s*$/;
		}
		push @cmds, [$cur[0][0], join("\n", map { $_->[1] } @cur)];
		@cur = ();
	}
	push @cmds, [$cur[0][0], join("\n", map { $_->[1] } @cur)] if @cur;
	return @cmds;
}

# The runnable pieces of one document: [lineno, text, hidden].
sub pieces {
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!\n";
	my @out;
	my ($in, $fence, $hidden, @block) = (0, '', 0);
	my $no = 0;
	while (my $t = <$fh>) {
		$no++;
		chomp $t;
		if (!$in && $t =~ /^\s*<!--\s*doc-test\b(.*)$/) {
			my $rest = $1;
			$rest =~ s/^\s*:?//;
			if ($rest =~ s/-->\s*$//) {
				push @out, map { [@$_, 1] } commands([$no, $rest]);
				next;
			}
			($in, $hidden, @block) = (1, 1);
			push @block, [$no, $rest] if $rest =~ /\S/;
			next;
		}
		if ($in && $hidden) {
			if ($t =~ /^(.*?)-->\s*$/) {
				push @block, [$no, $1] if $1 =~ /\S/;
				push @out, map { [@$_, 1] } commands(@block);
				($in, $hidden, @block) = (0, 0);
			} else {
				push @block, [$no, $t];
			}
			next;
		}
		if (!$in && $t =~ /^\s*(```+)\s*(\S*)(.*)$/) {
			my ($f, $lang, $info) = ($1, $2, "$2 $3");
			($in, $fence) = (1, $f);
			$in = 2 if $info =~ /(^|\s)test(\s|$)/;
			@block = ();
			next;
		}
		if ($in && $t =~ /^\s*\Q$fence\E\s*$/) {
			push @out, map { [@$_, 0] } commands(@block) if $in == 2;
			($in, @block) = (0);
			next;
		}
		push @block, [$no, $t] if $in == 2;
	}
	return @out;
}

sub sq { my $s = shift; $s =~ s/'/'\\''/g; return "'$s'"; }

for my $doc (@docs) {
	(my $name = $doc) =~ s{.*/}{};
	my $dir = "$work/" . ($name =~ s/\.md$//r);
	my $out = "$work/.out-" . ($name =~ s/\.md$//r);
	make_path($dir, $out);
	my %port = (8180 => free_port(), 8443 => free_port());
	my @p = pieces($doc);
	my (@run, @why, @want);
	for my $i (0 .. $#p) {
		my ($no, $text, $hidden) = @{$p[$i]};
		$text =~ s/\b(8180|8443)\b/$port{$1}/g;
		my ($last) = (split /\n/, $text)[-1];
		if ($last =~ /#\s*needs:\s*([^#]+?)\s*$/) {
			$why[$i] = $1;
			next;
		}
		$want[$i] = $last =~ /#.*\bexits (\d+)\b/ ? $1 : 0;
		push @run, [$i, $text];
	}
	# One bash for the whole document. Each command's exit status goes to
	# the results file; its output to its own file.
	my $sh = "$out/doc.sh";
	open my $fh, '>', $sh or die "$sh: $!\n";
	print $fh "set -u\ncd " . sq($dir) . " || exit 1\n";
	print $fh "export PATH=" . sq($bin) . ":\"\$PATH\"\n";
	print $fh <<'SH';
_doc_stop() {
	for _p in $(jobs -p); do kill -TERM "$_p" 2>/dev/null; done
	for _p in $(jobs -p); do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -KILL "$_p" 2>/dev/null
	done
	wait
}
trap _doc_stop EXIT
trap 'exit 143' TERM INT
SH
	for my $r (@run) {
		my ($i, $text) = @$r;
		print $fh "{\n$text\n} > " . sq("$out/$i.out") . " 2>&1 < /dev/null\n";
		print $fh "echo \"$i \$?\" >> " . sq("$out/results") . "\n";
	}
	close $fh;
	unlink "$out/results";
	system('timeout', '-k', '10', $timeout, 'bash', $sh);
	my %rc;
	if (open my $rf, '<', "$out/results") {
		while (<$rf>) { $rc{$1} = $2 if /^(\d+) (\d+)$/; }
	}
	for my $i (0 .. $#p) {
		my ($no, $text, $hidden) = @{$p[$i]};
		my ($first) = split /\n/, $text;
		$first =~ s/^\s+//;
		# a comment would read as a TAP directive
		$first =~ s/\s+#.*$//;
		$first =~ s/#/\\#/g;
		$first = substr($first, 0, 70) . '...' if length($first) > 73;
		my $desc = "$name:$no" . ($hidden ? " (set-up)" : "") . ": $first";
		$n++;
		if (defined $why[$i]) {
			$skipped++;
			print "ok $n - $desc # SKIP needs $why[$i]\n";
		} elsif (!defined $rc{$i}) {
			$failed++;
			print "not ok $n - $desc\n# not run (an earlier command ended the shell, or the document timed out after ${timeout}s)\n";
		} elsif ($rc{$i} == $want[$i]) {
			print "ok $n - $desc\n";
		} else {
			$failed++;
			print "not ok $n - $desc\n#   exit status $rc{$i} (expected $want[$i]); the command:\n";
			print map { "#     $_\n" } split /\n/, $text;
			if (open my $of, '<', "$out/$i.out") {
				my @o = <$of>;
				@o = @o[-30 .. -1] if @o > 30;
				print "#   its output:\n", map { "#     $_" } @o;
				print "\n" if @o && $o[-1] !~ /\n$/;
			}
		}
	}
}
print "1..$n\n";
print "# $skipped of $n documented commands skipped (they need AWS, the internet, root or hardware)\n";
exit($failed ? 1 : 0);
