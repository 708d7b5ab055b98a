# openapi.yaml, the contract: linted by Redocly's CLI, then every response
# the Test::Nginx suites in t/ receive is checked against it (status,
# headers, media type, body schema) by tests/js/contract.mjs, which also
# fails on a described response that no suite received.  The suites run
# here under the project's runner, which records each exchange
# (t/lib/CartCapture.pm).  Both checkers are shown to fail on bad input.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

use lib abs_path('t/lib');
use CartTest;

my $js = abs_path('tests/js');
my $redocly = "$js/node_modules/.bin/redocly";
my $doc = abs_path('openapi.yaml');

-x $redocly or BAIL_OUT("$redocly is missing: make test installs it "
                        . "(npm ci in tests/js)");

my $dir = tempdir('openapi-XXXXXX', DIR => abs_path('build'), CLEANUP => 1);

sub run {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

# the lint, and the lint of a document it must refuse
my ($rc, $out) = run("$redocly lint --config $js/redocly.yaml $doc");
is($rc, 0, 'redocly lint: openapi.yaml is valid, no rule broken')
    or diag($out);

open my $in, '<', $doc or die "$doc: $!";
my $text = do { local $/; <$in> };
close $in;
(my $broken = $text) =~ s/^      operationId: getCartV1\n//m
    or die 'no getCartV1 in openapi.yaml';
$broken =~ s/^(\s+)const: private, no-cache$/$1const: 42/m or die;

open my $bad, '>', "$dir/broken.yaml" or die;
print $bad $broken;
close $bad;

($rc, $out) = run("$redocly lint --config $js/redocly.yaml $dir/broken.yaml");
isnt($rc, 0, 'redocly lint refuses a document with its faults');
like($out, qr/operation-operationId/, '... an operation without an id');

# the suites, recording every exchange
my $capture = "$dir/exchanges.ndjson";
{
    local $ENV{CART_CONTRACT_CAPTURE} = $capture;
    local $ENV{PERL5LIB} = join ':', abs_path('t/runner'), abs_path('t/lib'),
                                     $ENV{PERL5LIB} // ();
    ($rc, $out) = run('prove', 't/');
}
is($rc, 0, 'the suites in t/ pass while their exchanges are recorded')
    or diag($out);

($rc, $out) = run("node $js/contract.mjs $doc $capture");
is($rc, 0, 'every response the suites received is as openapi.yaml says, '
           . 'and every response it describes was received')
    or diag($out);
my ($checked) = $out =~ /^# (\d+) responses checked/m;
cmp_ok($checked // 0, '>', 1000, "... $checked responses checked");
note($out);

# the checker, on exchanges made wrong on purpose: each one must fail
open my $fh, '<', $capture or die "$capture: $!";
my @exchanges = map { decode_json($_) } <$fh>;
close $fh;

sub first_exchange {
    my ($re) = @_;
    for my $x (@exchanges) {
        my $raw = decode_base64($x->{request}) . "\n"
                  . decode_base64($x->{response});
        return $x if $raw =~ $re;
    }
    die "no exchange matches $re";
}

sub altered {
    my ($re, $edit) = @_;
    my $x = { %{ first_exchange($re) } };
    local $_ = decode_base64($x->{response});
    $edit->();
    $x->{response} = encode_base64($_, '');
    $x->{block} = "altered";
    return $x;
}

my @wrong = (
    [qr{^GET /api/v2/domains/\S+/cart .*\nHTTP/1.1 200.*"total"}s,
     sub { s/"total":\{[^}]*\}/"total":"209.39"/ },
     qr{/total must be object}],
    [qr{^GET /api/v1/domains/\S+/cart .*\nHTTP/1.1 200}s,
     sub { s/\}$/,"extra":1}/ },
     qr{must NOT have additional properties}],
    [qr{^GET /api/v2/carts/active-domains .*\nHTTP/1.1 200}s,
     sub { s/Cache-Control: [^\r]*/Cache-Control: max-age=60/ },
     qr{header Cache-Control: "max-age=60"}],
    [qr{^GET /api/v2/carts/active .*\nHTTP/1.1 401}s,
     sub { s/"error":"\w+"/"error":"Unauthorized"/ },
     qr{/error must be equal to one of the allowed values}],
    [qr{^GET /api/v3/store/carts.*\nHTTP/1.1 200}s,
     sub { s/ETag: W\/"/ETag: "/ },
     qr{header ETag: .* must match pattern}],
    [qr{^GET /api/v3/store/carts.*\nHTTP/1.1 401}s,
     sub { s/HTTP\/1.1 401 \w+/HTTP\/1.1 403 Forbidden/ },
     qr{status 403 is not described}],
    [qr{^GET /api/v2/domains/\S+/cart .*\nHTTP/1.1 404}s,
     sub { s/Content-Type: application\/json/Content-Type: text\/html/ },
     qr{Content-Type "text/html", not one of}],
    [qr{^GET /api/v2/domains/\S+/cart .*\nHTTP/1.1 200.*Content-Encoding: gzip}s,
     sub { s/.{10}\z//s },
     qr{the body is not gzip}],
    [qr{^GET /api/v2/carts/active-domains .*\nHTTP/1.1 200}s,
     sub { s/\r\n\r\n/\r\nContent-Encoding: gzip\r\n\r\n/ },
     qr{Content-Encoding gzip, where none is described}],
    [qr{^GET /api/v2/domains/\S+/cart .*\nHTTP/1.1 200}s,
     sub { s/Vary: Accept-Encoding\r\n// },
     qr{header Vary is missing}],
);

for my $w (@wrong) {
    my ($re, $edit, $expect) = @$w;
    my $file = "$dir/wrong.ndjson";

    open my $o, '>', $file or die;
    print $o encode_json(altered($re, $edit)), "\n";
    close $o;

    ($rc, $out) = run("node $js/contract.mjs $doc $file");
    isnt($rc, 0, "the checker fails a response made wrong: $expect");
    like($out, $expect, '... and says why') or diag($out);
}

done_testing();
