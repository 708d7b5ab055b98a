# The C unit tests (tests/unit_tests.c) speak TAP: run them under prove.

use strict;
use warnings;
use lib 't/lib';
use CartTest;

my $bin = "$CartTest::T/../build/unit_tests";
-x $bin or die "$bin is missing: run 'make test'\n";

# an HS256 token for the secret in t/keys, made here and not by the code
# under test: {"alg":"HS256"}.{"device_id":"d","exp":2000000000}
$ENV{CART_TEST_HS256_TOKEN} = jwt_parts('HS256', "$KEYS/hs256.secret",
    '{"alg":"HS256"}', '{"device_id":"d","exp":2000000000}');

exec $bin, $KEYS, $DATA or die "exec $bin: $!";
