package CartCapture;

# With CART_CONTRACT_CAPTURE set to a file name, every HTTP exchange of the
# suites (the runner's requests and CartTest's http_get) is appended to
# that file as a JSON line: the suite, the test block, and the request and
# response bytes in base64.  tests/openapi.t checks each response against
# openapi.yaml.  Without the variable, nothing is written.

use strict;
use warnings;

use JSON::PP ();
use MIME::Base64 qw(encode_base64);

sub record {
    my ($block, $request, $response) = @_;
    my $file = $ENV{CART_CONTRACT_CAPTURE} or return;

    open my $fh, '>>', $file or die "cannot append to $file: $!\n";
    print $fh JSON::PP->new->canonical->encode({
        suite => $0,
        block => $block,
        request => encode_base64($request, ''),
        response => encode_base64($response // '', ''),
    }), "\n";
    close $fh;
}

1;
