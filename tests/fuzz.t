# The fuzz targets build and run over their seeds without a finding
# ("make fuzz" runs them for longer).

use strict;
use warnings;
use Test::More;

my $out = `make -s -C tests/fuzz smoke 2>&1`;
is($? >> 8, 0, 'fuzz targets run over their seeds')
    or diag $out;
unlike($out, qr/ERROR: (AddressSanitizer|libFuzzer)/, 'no sanitizer report');

done_testing();
