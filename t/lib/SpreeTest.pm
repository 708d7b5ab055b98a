package SpreeTest;

# Helpers for the Spree suites in t/: the store of their fixtures, Spree
# customer tokens signed with the test secret, and the listing Spree 5.4
# would give (Pagy's arithmetic, the orders), computed here independently
# of the module.

use strict;
use warnings;

use CartTest;
use JSON::PP;
use POSIX ();

use base 'Exporter';

our @EXPORT = qw(
    spree_setup spree_tok %carts_of spree_order spree_meta spree_ids
    $KEY $KEY_REVOKED $KEY_OTHER
);

our $KEY = 'pk_test_default_0123456789abcdef';
our $KEY_REVOKED = 'pk_test_revoked_0123456789abcdef';
our $KEY_OTHER = 'pk_test_other_0123456789abcdef0';

# user id => [ { id, created, updated } ... ], the carts a listing shows
our %carts_of;

my $json = JSON::PP->new->canonical;
my $base = 1761000000;      # 2025-10-20T22:40:00Z

sub iso {
    my $us = shift;
    my $s = POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime(int($us / 1e6)));
    my $frac = $us % 1000000;
    return $frac ? sprintf('%s.%06dZ', $s, $frac) : "${s}Z";
}

sub cart_line {
    my (%a) = @_;
    my $cart = { id => $a{id}, number => "R$a{id}", currency => 'USD',
                 total => '1.0', display_total => '$1.00',
                 items => [] };
    return $json->encode({ kind => 'spree_cart', store => $a{store},
                           user_id => $a{user}, created_at => iso($a{created}),
                           updated_at => iso($a{updated}),
                           completed_at => $a{completed}, cart => $cart })
           . "\n";
}

# a token as Spree issues it, its claims changed by %over (undef removes)
sub spree_tok {
    my ($user, %over) = @_;
    my %claims = (user_id => $user, user_type => 'customer',
                  jti => "jti-$user", iss => 'spree', aud => 'store_api',
                  exp => time + 3600, %over);
    delete $claims{$_} for grep { !defined $over{$_} && exists $over{$_} }
                           keys %over;
    return jwt('HS256', "$KEYS/spree.secret", \%claims);
}

# The store: the page's example (customer 2: its two carts, and carts of
# its never listed), and customers of 0 to 300 carts whose created and
# updated orders differ.
sub spree_setup {
    my $tmp = $ENV{TEST_NGINX_TMP};
    my $lines = '';

    $lines .= cart_line(store => 'default', user => 2, id => 'cart_completed',
                        created => 1e15, updated => 1.9e15,
                        completed => '2025-10-21T00:00:00Z');
    $lines .= cart_line(store => 'other', user => 2, id => 'cart_other_store',
                        created => 1e15, updated => 1.9e15);
    $lines .= cart_line(store => 'default', user => undef, id => 'cart_guest',
                        created => 1e15, updated => 1.9e15);
    $lines .= cart_line(store => 'default', user => 3, id => 'cart_of_3',
                        created => 1e15, updated => 1.9e15);

    for my $n (0, 1, 25, 26, 100, 101, 300) {
        my $user = 1000 + $n;
        $carts_of{$user} = [];

        for my $i (0 .. $n - 1) {
            my $c = { id => sprintf('cart_u%d_%03d', $user, $i),
                      created => ($base + (($i * 37) % $n) * 60) * 1e6 + $i,
                      updated => ($base + $i * 90) * 1e6 + 500 };
            push @{ $carts_of{$user} }, $c;
            $lines .= cart_line(store => 'default', user => $user, %$c);
        }
    }

    # two carts updated at the same microsecond: id breaks the tie
    for my $id (qw(cart_tie_a cart_tie_b)) {
        my $c = { id => $id, created => ($base + 1) * 1e6,
                  updated => ($base + 2) * 1e6 };
        push @{ $carts_of{2000} }, $c;
        $lines .= cart_line(store => 'default', user => 2000, %$c);
    }

    open my $fh, '>', "$tmp/spree-more.ndjson" or die $!;
    print $fh $lines;
    close $fh;

    $ENV{TEST_NGINX_STORE} = CartTest::store("$tmp/store",
                                             "$DATA/base.ndjson");
    cartctl('--store', $ENV{TEST_NGINX_STORE}, 'import', $_)
        for "$DATA/spree.ndjson", "$tmp/spree-more.ndjson";

    # a block with locations of its own and no http_config: the store and
    # the Spree secret (run before firmly_setup's defaults)
    main::add_block_preprocessor(sub {
        my $block = shift;

        return if !defined $block->config || defined $block->http_config
                  || $block->config =~ /cart_api\.conf/;

        $block->set_value("http_config", <<_EOC_);
    cart_store $ENV{TEST_NGINX_STORE};
    cart_spree_jwt_secret $KEYS/spree.secret;
_EOC_
    });

    return $ENV{TEST_NGINX_STORE};
}

# a customer's carts in an order: by, descending; id breaks ties
sub spree_order {
    my ($user, $by, $desc) = @_;
    my @c = sort { $a->{$by} <=> $b->{$by} || $a->{id} cmp $b->{id} }
            @{ $carts_of{$user} || [] };
    return $desc ? reverse @c : @c;
}

# Pagy's meta of a page (page and limit as integers), as a JSON text
sub spree_meta {
    my ($page, $limit, $count) = @_;
    my $pages = $count ? POSIX::ceil($count / $limit) : 1;
    my %m = (page => $page, limit => $limit, count => $count,
             pages => $pages);

    if ($page > $pages) {
        @m{qw(from to in previous next)} = (0, 0, 0, $pages, 'null');

    } else {
        my $offset = $limit * ($page - 1);
        $m{from} = $offset + 1 < $count ? $offset + 1 : $count;
        $m{to} = $offset + $limit < $count ? $offset + $limit : $count;
        $m{in} = $m{to} - $m{from} + 1 < $count ? $m{to} - $m{from} + 1
                                                : $count;
        $m{previous} = $page == 1 ? 'null' : $page - 1;
        $m{next} = $page == $pages ? 'null' : $page + 1;
    }

    return '{' . join(',', map { qq("$_":$m{$_}) }
                           qw(page limit count pages from to in previous
                              next)) . '}';
}

# the ids of a page's data, in order
sub spree_ids {
    my $body = shift;
    return join ',', $body =~ /\{"id":"([^"]+)"/g;
}

1;
