#!/usr/bin/perl
# notify-listen.pl SOCKET OUT [SECONDS]
#
# A stand-in for systemd's notification socket: binds a Unix datagram socket
# at SOCKET (the test passes it to the daemon as NOTIFY_SOCKET) and appends
# every line of every datagram to OUT as "<ms since start> <line>", flushed
# at once so the test can poll OUT. Exits after SECONDS (default 60) so it
# can never outlive a test that forgot it; the test stops it by PID.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Handle;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time);

my ($path, $out, $secs) = @ARGV;
die "usage: $0 SOCKET OUT [SECONDS]\n" unless defined $out;
$secs = 60 unless defined $secs;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
  or die "notify-listen: bind $path: $!\n";
open(my $fh, '>>', $out) or die "notify-listen: $out: $!\n";
$fh->autoflush(1);
my $t0 = time;
my $end = $t0 + $secs;
$SIG{TERM} = sub { unlink $path; exit 0 };
while ((my $left = $end - time) > 0) {
	my $rin = '';
	vec($rin, fileno($s), 1) = 1;
	next unless select(my $rout = $rin, undef, undef, $left) > 0;
	my $msg;
	defined $s->recv($msg, 65536) or next;
	my $ms = int((time - $t0) * 1000);
	print $fh "$ms $_\n" for split /\n/, $msg;
}
unlink $path;
exit 0;
