#!/usr/bin/perl
# rawhttp.pl — raw HTTP/1.1 over 127.0.0.1 for the hostile-input tests, where
# curl would tidy the request up. Every wait is bounded.
#
#   rawhttp.pl req PORT TIMEOUT < REQUEST
#       sends the bytes of REQUEST as they are, reads the answer until the
#       server closes or a complete response (Content-Length) has arrived,
#       prints it. Exit 0; 3 on timeout (prints what arrived), 4 when the
#       server closed without answering.
#   rawhttp.pl idle PORT MAXWAIT [PREFIX]
#       connects, sends PREFIX (perl escapes such as \r\n are expanded; may be
#       empty), then waits for the server to close the connection. Prints
#       "closed SECONDS BYTES" (BYTES the server sent) or "open SECONDS" when
#       MAXWAIT passed first (exit 3). "refused" when connect failed (exit 5).
#   rawhttp.pl trickle PORT GAP MAXWAIT TEXT
#       sends TEXT one byte every GAP seconds; prints "closed SECONDS SENT" as
#       soon as the server closes (or a write fails), "done SECONDS SENT" when
#       all was sent (then waits for the answer up to MAXWAIT, printing the
#       status line), "open SECONDS SENT" at MAXWAIT.
#   rawhttp.pl keep PORT N GO MAXWAIT [POSTFILE...]
#       opens N keep-alive connections and has each answer one GET /healthz
#       (so each is accepted and served), prints "ready K" (K answered 200),
#       waits for the file GO to appear, then sends at once each POSTFILE's
#       bytes on its own connection (spread evenly over the N) and GET
#       /healthz on all the others. Once every answer is in or MAXWAIT has
#       passed: "answered K of G slowest SECONDS" (GETs answered 200, and the
#       slowest of them), then "posts CODE... first SECONDS" (each POST's
#       status, and when the first of them was answered).
#   rawhttp.pl hold PORT N MAXWAIT [PREFIX]
#       opens N connections (each sends PREFIX), prints "opened K" once all
#       are attempted (K connected), then one line "closed I SECONDS" as the
#       server closes each, "open I" for those still open at MAXWAIT.
#   rawhttp.pl slowread PORT CHUNK GAP MAXWAIT REQUEST
#       a slow reader: connects with a small receive buffer and MSS (so
#       that the server's send buffer stays small and its writes wait on
#       the reader even over loopback), sends REQUEST (escapes expanded),
#       then reads CHUNK bytes every GAP seconds. Prints "closed SECONDS
#       BYTES" when the server ends the connection, "open SECONDS BYTES" at
#       MAXWAIT (exit 3).
#   rawhttp.pl serve PORTFILE MAXWAIT DIR
#       a fake server on 127.0.0.1 (free port written to PORTFILE) for
#       clients that must not trust their server: answers each request
#       "METHOD /a/b" with the file DIR/METHOD_a_b (first line the status,
#       the rest the body; 404 when there is none), one request per
#       connection, until MAXWAIT seconds have passed.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Socket qw(IPPROTO_TCP TCP_NODELAY TCP_MAXSEG PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF
	      pack_sockaddr_in inet_aton);

$| = 1;
$SIG{PIPE} = 'IGNORE';
my $mode = shift // die "usage: rawhttp.pl req|idle|trickle|hold PORT ...\n";
my $port = shift // die "PORT\n";

sub conn {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
				      Proto => 'tcp', Timeout => 5);
	$s->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1) if $s;
	return $s;
}

sub unescape { my $s = shift // ''; $s =~ s/\\r/\r/g; $s =~ s/\\n/\n/g; $s =~ s/\\t/\t/g; return $s; }

# Has the server closed s? (readable and read returns 0 or an error.) Reads
# and counts what it sends meanwhile.
sub closed_by_peer {
	my ($s, $wait, $got) = @_;
	my $sel = IO::Select->new($s);
	return 0 unless $sel->can_read($wait);
	my $buf;
	my $n = sysread($s, $buf, 65536);
	return 1 if !defined $n || $n == 0;
	$$got += $n if $got;
	return 0;
}

if ($mode eq 'req') {
	my $timeout = shift // 10;
	local $/;
	binmode STDIN;
	my $req = <STDIN> // '';
	my $s = conn() or do { print "refused\n"; exit 5 };
	my $t0 = time;
	my $off = 0;
	# Write in pieces, reading meanwhile: the server may answer (413) and
	# close before taking the whole body.
	my $resp = '';
	my $sel = IO::Select->new($s);
	while ($off < length $req && time - $t0 < $timeout) {
		my $w = syswrite($s, $req, 65536, $off);
		last unless defined $w;
		$off += $w;
		if ($sel->can_read(0)) {
			my $n = sysread($s, my $buf, 65536);
			last if !defined $n || $n == 0;
			$resp .= $buf;
		}
	}
	while (time - $t0 < $timeout) {
		if ($resp =~ /\r\n\r\n/s) {
			my ($head, $body) = split /\r\n\r\n/, $resp, 2;
			if ($head =~ /^content-length:\s*(\d+)/mi) {
				last if length($body) >= $1;
			}
		}
		next unless $sel->can_read(0.2);
		my $n = sysread($s, my $buf, 65536);
		last if !defined $n || $n == 0;
		$resp .= $buf;
	}
	binmode STDOUT;
	print $resp;
	exit 4 if $resp eq '';
	exit(time - $t0 >= $timeout ? 3 : 0);
} elsif ($mode eq 'idle') {
	my $max = shift // 10;
	my $prefix = unescape(shift);
	my $t0 = time;
	my $s = conn() or do { print "refused\n"; exit 5 };
	syswrite($s, $prefix) if length $prefix;
	my $got = 0;
	while (time - $t0 < $max) {
		if (closed_by_peer($s, 0.05, \$got)) {
			printf "closed %.2f %d\n", time - $t0, $got;
			exit 0;
		}
	}
	printf "open %.2f\n", time - $t0;
	exit 3;
} elsif ($mode eq 'slowread') {
	my $chunk = shift // 1024;
	my $gap = shift // 0.1;
	my $max = shift // 10;
	my $req = unescape(shift);
	my $t0 = time;
	socket(my $s, PF_INET, SOCK_STREAM, IPPROTO_TCP) or die "socket: $!\n";
	setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
	setsockopt($s, IPPROTO_TCP, TCP_MAXSEG, 536);
	connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1')))
	    or do { print "refused\n"; exit 5 };
	syswrite($s, $req);
	my $got = 0;
	while (time - $t0 < $max) {
		my $n = sysread($s, my $buf, $chunk);
		if (!$n) {
			printf "closed %.2f %d\n", time - $t0, $got;
			exit 0;
		}
		$got += $n;
		sleep $gap;
	}
	printf "open %.2f %d\n", time - $t0, $got;
	exit 3;
} elsif ($mode eq 'serve') {
	my $portfile = $port;
	my $max = shift // 30;
	my $dir = shift // die "DIR\n";
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
				      Listen => 16, ReuseAddr => 1, Proto => 'tcp')
	    or die "listen: $!\n";
	open(my $pf, '>', "$portfile.tmp") or die "$portfile: $!\n";
	print $pf $l->sockport, "\n";
	close $pf;
	rename("$portfile.tmp", $portfile);
	my $t0 = time;
	my $sel = IO::Select->new($l);
	while (time - $t0 < $max) {
		next unless $sel->can_read(0.2);
		my $c = $l->accept or next;
		my $req = '';
		my $cs = IO::Select->new($c);
		while ($req !~ /\r\n\r\n/ && $cs->can_read(5)) {
			last unless sysread($c, my $buf, 65536);
			$req .= $buf;
		}
		my ($head, $body) = split /\r\n\r\n/, $req, 2;
		$body //= '';
		my ($len) = ($head // '') =~ /^Content-Length:\s*(\d+)/mi;
		while (defined $len && length($body) < $len && $cs->can_read(5)) {
			last unless sysread($c, my $buf, 65536);
			$body .= $buf;
		}
		my ($m, $path) = ($head // '') =~ /^(\S+) (\S+)/;
		$path //= '/';
		$path =~ s/\?.*//;
		(my $name = ($m // 'X') . $path) =~ s{/}{_}g;
		my ($st, $out) = (404, '{"error":"not_found","message":"fake"}');
		if ($name !~ /\.\./ && open(my $f, '<', "$dir/$name")) {
			local $/;
			my $all = <$f>;
			close $f;
			($st, $out) = split /\n/, $all, 2;
			$out //= '';
		}
		syswrite($c, "HTTP/1.1 $st X\r\nContent-Length: " . length($out) .
			 "\r\nConnection: close\r\n\r\n$out");
		close $c;
	}
	exit 0;
} elsif ($mode eq 'trickle') {
	my $gap = shift // 1;
	my $max = shift // 10;
	my $text = unescape(shift);
	my $t0 = time;
	my $s = conn() or do { print "refused\n"; exit 5 };
	my $sent = 0;
	my $got = 0;
	for my $i (0 .. length($text) - 1) {
		my $w = syswrite($s, substr($text, $i, 1));
		if (!defined $w || $w != 1) {
			printf "closed %.2f %d\n", time - $t0, $sent;
			exit 0;
		}
		$sent++;
		my $until = time + $gap;
		while (time < $until) {
			if (closed_by_peer($s, 0.05, \$got)) {
				printf "closed %.2f %d\n", time - $t0, $sent;
				exit 0;
			}
			if (time - $t0 >= $max) {
				printf "open %.2f %d\n", time - $t0, $sent;
				exit 3;
			}
		}
	}
	printf "done %.2f %d\n", time - $t0, $sent;
	my $sel = IO::Select->new($s);
	if ($sel->can_read($max)) {
		sysread($s, my $buf, 65536);
		my ($line) = split /\r\n/, $buf // '';
		print "answer ", $line // '', "\n";
	}
	exit 0;
} elsif ($mode eq 'keep') {
	my $n = shift // 8;
	my $go = shift // die "GO\n";
	my $max = shift // 10;
	my @posts = @ARGV;
	my $get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	my $t0 = time;
	my @s = map { conn() } 1 .. $n;
	# Sends $req{i} on connection i, then reads until each has a complete
	# answer (Content-Length) or the time is up; returns the status line's
	# code and the time taken per connection.
	my $round = sub {
		my %req = @_;
		my (%buf, %code, %took);
		my $start = time;
		for my $i (sort { $a <=> $b } keys %req) {
			next unless $s[$i];
			$buf{$i} = '';
			syswrite($s[$i], $req{$i}) or delete $buf{$i};
		}
		while (keys %buf > keys %took && time - $t0 < $max) {
			my $sel = IO::Select->new(map { $s[$_] } grep { !exists $took{$_} } keys %buf);
			for my $h ($sel->can_read(0.1)) {
				my ($i) = grep { defined $s[$_] && $s[$_] == $h } 0 .. $n - 1;
				my $r = sysread($h, my $b, 65536);
				if (!$r) { $code{$i} = 0; $took{$i} = time - $start; next }
				$buf{$i} .= $b;
				my ($head, $body) = split /\r\n\r\n/, $buf{$i}, 2;
				if (defined $body && $head =~ /^HTTP\/1\.1 (\d+) / &&
				    $head =~ /^content-length:\s*(\d+)/mi && length($body) >= $1) {
					($code{$i}) = $head =~ /^HTTP\/1\.1 (\d+) /;
					$took{$i} = time - $start;
				}
			}
		}
		return (\%code, \%took);
	};
	my ($code) = $round->(map { $_ => $get } 0 .. $n - 1);
	printf "ready %d\n", scalar grep { $_ == 200 } values %$code;
	sleep 0.05 until -e $go || time - $t0 >= $max;
	# The second round: each POST file goes out on its own connection,
	# spread evenly over the N; GET /healthz on all the others.
	my %req = map { $_ => $get } 0 .. $n - 1;
	for my $k (0 .. $#posts) {
		open(my $f, '<', $posts[$k]) or die "$posts[$k]: $!\n";
		local $/;
		$req{int($k * $n / @posts)} = <$f>;
	}
	my ($c, $t) = $round->(%req);
	my %is_post = map { int($_ * $n / @posts) => 1 } 0 .. $#posts;
	my @gets = grep { !$is_post{$_} } 0 .. $n - 1;
	my $ok = grep { ($c->{$_} // -1) == 200 } @gets;
	my $slowest = 0;
	for (@gets) { $slowest = $t->{$_} if ($t->{$_} // 0) > $slowest }
	printf "answered %d of %d slowest %.3f\n", $ok, scalar @gets, $slowest;
	my @pi = map { int($_ * $n / @posts) } 0 .. $#posts;
	my $first = $max;
	for (@pi) { $first = $t->{$_} if defined $t->{$_} && $t->{$_} < $first }
	printf "posts %s first %.3f\n", join(' ', map { $c->{$_} // 'none' } @pi), $first;
	exit 0;
} elsif ($mode eq 'hold') {
	my $n = shift // 8;
	my $max = shift // 10;
	my $prefix = unescape(shift);
	my $t0 = time;
	my @s;
	my $k = 0;
	for my $i (0 .. $n - 1) {
		my $s = conn();
		if ($s) {
			syswrite($s, $prefix) if length $prefix;
			$k++;
		}
		push @s, $s;
	}
	print "opened $k\n";
	my %done;
	for my $i (0 .. $n - 1) { $done{$i} = 1 unless $s[$i] }
	while (keys(%done) < $n && time - $t0 < $max) {
		my $any = 0;
		for my $i (0 .. $n - 1) {
			next if $done{$i};
			if (closed_by_peer($s[$i], 0, undef)) {
				printf "closed %d %.2f\n", $i, time - $t0;
				$done{$i} = 1;
				$any = 1;
			}
		}
		sleep 0.05 unless $any;
	}
	for my $i (0 .. $n - 1) { print "open $i\n" unless $done{$i} }
	exit 0;
} else {
	die "unknown mode $mode\n";
}
