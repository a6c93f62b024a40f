#!/usr/bin/perl
# post.pl — a bounded load for tests/bench/profile.sh: every body of a file
# POSTed once to /v1/certificates over C keep-alive connections (one child
# process each, body i to connection i mod C), until the last answer. wrk
# runs for a time, not for a number of requests; a profile needs exactly
# the requests it counts.
#
#   perl post.pl PORT TOKEN C BODIES
#
# Prints "issued=N other=M" (201 answers, any other status).
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $token, $conns, $file) = @ARGV;
die "usage: post.pl PORT TOKEN C BODIES\n" unless defined $file;
open(my $fh, '<', $file) or die "post.pl: $file: $!\n";
my @bodies = <$fh>;
close($fh);
chomp(@bodies);

my @kids;
for my $k (0 .. $conns - 1) {
	pipe(my $r, my $w) or die "pipe: $!\n";
	my $pid = fork();
	die "fork: $!\n" unless defined $pid;
	if ($pid == 0) {
		close($r);
		my ($ok, $other) = (0, 0);
		my $s;
		for (my $i = $k; $i < @bodies; $i += $conns) {
			$s ||= IO::Socket::INET->new(PeerAddr => "127.0.0.1",
			    PeerPort => $port, Proto => 'tcp', Timeout => 600)
			    or die "connect: $!\n";
			my $b = $bodies[$i];
			print $s "POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			    . "Authorization: Bearer $token\r\n"
			    . "Content-Type: application/json\r\n"
			    . "Content-Length: " . length($b) . "\r\n\r\n$b";
			my ($head, $line) = ('', '');
			while (defined($line = <$s>)) {
				last if $line eq "\r\n";
				$head .= $line;
			}
			my ($status) = $head =~ m{^HTTP/1\.[01] (\d+)};
			my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
			my $body = '';
			read($s, $body, $len) if $len;
			if (defined $status && $status == 201) { $ok++ } else { $other++ }
			if ($head =~ /^Connection:\s*close/mi || !defined $status) {
				close($s);
				undef $s;
			}
		}
		print $w "$ok $other\n";
		exit 0;
	}
	close($w);
	push @kids, [$pid, $r];
}
my ($ok, $other) = (0, 0);
for my $kid (@kids) {
	my $fh = $kid->[1];
	my $l = <$fh> // "0 0";
	my ($a, $b) = split ' ', $l;
	$ok += $a;
	$other += $b;
	waitpid($kid->[0], 0);
}
print "issued=$ok other=$other\n";
