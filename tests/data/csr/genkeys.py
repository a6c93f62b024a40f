#!/usr/bin/env python3
"""Regenerates the key-encoding and weak-RSA fixtures of t-csr, t-profile and
tests/integration/t-canonical-key.sh (see README, "Key encodings" and "Weak
RSA keys"), and their copies in the fuzz corpora. Run from this directory:

    python3 genkeys.py

Python 3 standard library and the openssl 3.0 CLI only. Requests are built
byte by byte here so that the SubjectPublicKeyInfo can take any shape, and
signed over exactly those bytes: with the openssl CLI for real keys, with
the RSA arithmetic below for keys no generator makes (openssl cannot load
them). Every private key is thrown away.
"""
import base64
import hashlib
import json
import math
import os
import secrets
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, '..', '..', 'fuzz')

# ---- DER --------------------------------------------------------------------


def length(n, longform=0):
    """Definite length octets: minimal, or with longform extra 0x00 octets
    of a non-minimal long form (BER allows it, X.690 DER does not)."""
    if n < 0x80 and not longform:
        return bytes([n])
    b = n.to_bytes(max(1, (n.bit_length() + 7) // 8), 'big')
    b = b'\0' * max(0, longform - 1) + b
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content, longform=0):
    return bytes([tag]) + length(len(content), longform) + content


def seq(*parts, longform=0):
    return tlv(0x30, b''.join(parts), longform)


def integer(v, pad=0, longform=0):
    b = v.to_bytes(v.bit_length() // 8 + 1, 'big')  # minimal, positive
    return tlv(0x02, b'\0' * pad + b, longform)


def oid(dotted):
    arcs = [int(a) for a in dotted.split('.')]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7f]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7f))
            a >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)


def bits(content, unused=0):
    return tlv(0x03, bytes([unused]) + content)


NULL = b'\x05\x00'
RSA_ENC = oid('1.2.840.113549.1.1.1')
EC_PUB = oid('1.2.840.10045.2.1')
P256 = oid('1.2.840.10045.3.1.7')
SHA256_RSA = seq(oid('1.2.840.113549.1.1.11'), NULL)
ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'))


def read_tlv(d, i):
    """(tag, content start, content end) of the TLV at d[i]."""
    tag, n = d[i], d[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(d[i:i + k], 'big')
        i += k
    return tag, i, i + n


def children(d):
    out, i = [], 0
    while i < len(d):
        tag, s, e = read_tlv(d, i)
        out.append((tag, d[s:e]))
        i = e
    return out


# ---- requests ---------------------------------------------------------------


def info(name, spki):
    cn = seq(oid('2.5.4.3'), tlv(0x0c, ('fixture-' + name).encode()))
    return seq(integer(0), seq(tlv(0x31, cn)), spki, b'\xa0\x00')


def request(tbs, sigalg, sig):
    return seq(tbs, sigalg, bits(sig))


def openssl(*args, data=None):
    return subprocess.run(['openssl'] + list(args), input=data, check=True,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout


def sign_cli(key, tbs, tmp):
    path = os.path.join(tmp, 'tbs')
    with open(path, 'wb') as f:
        f.write(tbs)
    return openssl('dgst', '-sha256', '-sign', key, path)


DIGESTINFO_SHA256 = bytes.fromhex('3031300d060960864801650304020105000420')


def emsa_pkcs1(tbs, n):
    """RFC 8017 9.2 EMSA-PKCS1-v1_5 of SHA-256(tbs) as an integer."""
    k = (n.bit_length() + 7) // 8
    t = DIGESTINFO_SHA256 + hashlib.sha256(tbs).digest()
    em = b'\x00\x01' + b'\xff' * (k - len(t) - 3) + b'\x00' + t
    return int.from_bytes(em, 'big'), k


def write(name, der):
    with open(os.path.join(HERE, name + '.csr'), 'w') as f:
        f.write('-----BEGIN CERTIFICATE REQUEST-----\n')
        b64 = base64.b64encode(der).decode()
        for i in range(0, len(b64), 64):
            f.write(b64[i:i + 64] + '\n')
        f.write('-----END CERTIFICATE REQUEST-----\n')
    with open(os.path.join(FUZZ, 'corpus-csr_der', name + '.der'), 'wb') as f:
        f.write(der)
    with open(os.path.join(HERE, name + '.csr')) as f:
        body = {'serial': 'SN-0001', 'csr': f.read()}
    with open(os.path.join(FUZZ, 'corpus-request', 'csr-' + name + '.json'),
              'w') as f:
        json.dump(body, f)


# ---- one EC key, many encodings ---------------------------------------------


def ec_fixtures(tmp):
    key = os.path.join(tmp, 'ec.key')
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt',
            'ec_paramgen_curve:P-256', '-out', key)
    spki = openssl('pkey', '-in', key, '-pubout', '-outform', 'DER')
    point = children(children(spki)[0][1])[1][1][1:]  # BIT STRING, no octet
    assert point[0] == 4 and len(point) == 65
    x, y = point[1:33], point[33:]
    odd = y[-1] & 1
    alg = seq(EC_PUB, P256)
    shapes = {
        # canonical: what openssl writes, built here
        'enc-p256': seq(alg, bits(point)),
        # SEC 1 2.3.3 compressed and X9.62 hybrid points of the same key
        'enc-p256-compressed': seq(alg, bits(bytes([2 + odd]) + x)),
        'enc-p256-hybrid': seq(alg, bits(bytes([6 + odd]) + x + y)),
        # the SubjectPublicKeyInfo length in a non-minimal long form
        'enc-p256-longlen': seq(alg, bits(point), longform=2),
    }
    assert shapes['enc-p256'] == spki
    for name, s in shapes.items():
        tbs = info(name, s)
        write(name, request(tbs, ECDSA_SHA256, sign_cli(key, tbs, tmp)))


# ---- one RSA key, many encodings --------------------------------------------


def rsa_fixtures(tmp):
    key = os.path.join(tmp, 'rsa.key')
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt',
            'rsa_keygen_bits:2048', '-out', key)
    spki = openssl('pkey', '-in', key, '-pubout', '-outform', 'DER')
    rpk = children(children(spki)[0][1])[1][1][1:]
    n, e = (int.from_bytes(v, 'big') for _, v in children(children(rpk)[0][1]))
    canon = seq(integer(n), integer(e))
    assert canon == rpk
    alg = seq(RSA_ENC, NULL)
    shapes = {
        'enc-rsa': seq(alg, bits(canon)),
        # RFC 3279 2.3.1 says NULL; some encoders leave parameters out
        'enc-rsa-noparams': seq(seq(RSA_ENC), bits(canon)),
        # parameters that are not NULL: junk, and 10 KB of it
        'enc-rsa-junkparams': seq(seq(RSA_ENC, tlv(0x04, b'junk' * 4)),
                                  bits(canon)),
        'enc-rsa-bigparams': seq(seq(RSA_ENC, tlv(0x04, b'A' * 10000)),
                                 bits(canon)),
        # bytes after the RSAPublicKey inside the BIT STRING
        'enc-rsa-trailing': seq(alg, bits(canon + b'\0\0junk')),
        # the exponent INTEGER with a long-form length (02 81 03 ...)
        'enc-rsa-longint': seq(alg, bits(seq(integer(n),
                                             integer(e, longform=1)))),
        # the modulus INTEGER with an extra leading zero octet
        'enc-rsa-padded': seq(alg, bits(seq(integer(n, pad=1), integer(e)))),
        # the RSAPublicKey SEQUENCE length in a non-minimal long form
        'enc-rsa-longseq': seq(alg, bits(seq(integer(n), integer(e),
                                             longform=3))),
    }
    assert shapes['enc-rsa'] == spki
    for name, s in shapes.items():
        tbs = info(name, s)
        write(name, request(tbs, SHA256_RSA, sign_cli(key, tbs, tmp)))


# ---- RSA keys no generator makes --------------------------------------------

SMALL = [p for p in range(3, 2000) if all(p % q for q in range(2, p))]


def probable_prime(n):
    if any(n % p == 0 for p in SMALL):
        return n in SMALL
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(32):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(bits_, ok=lambda p: True):
    """A random prime of exactly bits_ bits, top two bits set (so a product
    of two has exactly twice the bits), for which ok(p) holds."""
    while True:
        p = secrets.randbits(bits_) | (3 << (bits_ - 2)) | 1
        if ok(p) and probable_prime(p):
            return p


def rsa_request(name, n, e, sign):
    """A request for the public key (n, e), signed by sign(m) -> s."""
    s_ = seq(seq(RSA_ENC, NULL), bits(seq(integer(n), integer(e))))
    tbs = info(name, s_)
    m, k = emsa_pkcs1(tbs, n)
    s = sign(m)
    assert s is not None and pow(s, e, n) == m
    write(name, request(tbs, SHA256_RSA, s.to_bytes(k, 'big')))


def weak_fixtures():
    def coprime(e):
        return lambda p: math.gcd(e, p - 1) == 1

    def pq_key(e, ok):
        p, q = prime(1024, ok), prime(1024, ok)
        return p * q, pow(e, -1, math.lcm(p - 1, q - 1))

    # e = 1: the "signature" is the encoded hash itself, no private key.
    n, _ = pq_key(65537, coprime(65537))
    rsa_request('weak-rsa-e1', n, 1, lambda m: m)
    # e = 3 and e = 65535 (odd, below 65537): valid keys, refused exponents.
    for name, e in (('weak-rsa-e3', 3), ('weak-rsa-e65535', 65535)):
        n, d = pq_key(e, coprime(e))
        rsa_request(name, n, e, lambda m, n=n, d=d: pow(m, d, n))
    # e = 2^256 + 1: odd, over the CA/B Forum's 2^256 - 1; and 2^256 - 1
    # itself, the largest exponent allowed (good, in t-csr).
    for name, e in (('weak-rsa-ebig', 2**256 + 1), ('rsa-emax', 2**256 - 1)):
        n, d = pq_key(e, coprime(e))
        rsa_request(name, n, e, lambda m, n=n, d=d: pow(m, d, n))
    # e = 65538, even: s^e = m has a root only when m is a square modulo
    # p and q (p, q = 3 mod 4), so the subject is varied until it is.
    e = 65538
    ok = lambda p: p % 4 == 3 and math.gcd(e // 2, p - 1) == 1
    p, q = prime(1024, ok), prime(1024, ok)
    n = p * q

    def even_sign(m):
        r = []
        for pr in (p, q):
            if pow(m, (pr - 1) // 2, pr) != 1:
                return None  # not a square: try another subject
            t = pow(m, (pr + 1) // 4, pr)  # a square root of m
            r.append(pow(t, pow(e // 2, -1, pr - 1), pr))
        return (r[0] * q * pow(q, -1, p) + r[1] * p * pow(p, -1, q)) % n
    for i in range(1000):
        name = 'weak-rsa-even'
        tbs = info(name if i == 0 else name + '-%d' % i,
                   seq(seq(RSA_ENC, NULL), bits(seq(integer(n), integer(e)))))
        m, k = emsa_pkcs1(tbs, n)
        s = even_sign(m)
        if s is not None:
            assert pow(s, e, n) == m
            write(name, request(tbs, SHA256_RSA, s.to_bytes(k, 'big')))
            break
    # A prime modulus of 2048 bits: d = e^-1 mod (n - 1), anyone can.
    n = prime(2048, coprime(65537))
    d = pow(65537, -1, n - 1)
    rsa_request('weak-rsa-prime', n, 65537, lambda m: pow(m, d, n))
    # A prime power, p^2: factored by an integer square root.
    p = prime(1024, coprime(65537))
    n = p * p
    d = pow(65537, -1, p * (p - 1))
    rsa_request('weak-rsa-square', n, 65537, lambda m: pow(m, d, n))
    # Small factors: 751 (the largest below thingca's bound, as in OpenSSL's
    # SP 800-56B check) and 3, times a prime making 2048 bits.
    for name, f in (('weak-rsa-factor751', 751), ('weak-rsa-factor3', 3)):
        while True:  # q of 2048 - bits(f) bits, top two set: n has 2048
            q = prime(2048 - f.bit_length(), coprime(65537))
            if (f * q).bit_length() == 2048:
                break
        n = f * q
        d = pow(65537, -1, (f - 1) * (q - 1))
        rsa_request(name, n, 65537, lambda m, n=n, d=d: pow(m, d, n))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ec_fixtures(tmp)
        rsa_fixtures(tmp)
    weak_fixtures()


if __name__ == '__main__':
    main()
