package PgTest;

# A PostgreSQL 15 server of the test's own, in a scratch directory: initdb
# (as the postgres user, as root runs the tests), wal_level = logical, the
# records' table and publication of sql/cart_records.sql in a database
# "cartdb"; and psql to talk to it.  For tests/follow.t and tests/nodes.t.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);

use base 'Exporter';

our @EXPORT = qw(pg_available pg_start pg_stop pg_restart psql pg_records
                 pg_insert pg_device counter_carts);

our $BIN = '/usr/lib/postgresql/15/bin';
our $SQL = abs_path(dirname(__FILE__) . '/../../sql/cart_records.sql');

# why PostgreSQL cannot run here, or '' when it can
sub pg_available {
    return 'needs root (initdb runs as the postgres user)' if $> != 0;
    return "no $BIN/initdb (Debian's postgresql-15)" if !-x "$BIN/initdb";
    return 'no postgres user' if !getpwnam('postgres');
    return '';
}

# runs a command as the postgres user (inside $prefix: "ip netns exec NS")
sub as_postgres {
    my ($prefix, @cmd) = @_;
    my $out = `$prefix runuser -u postgres -- @cmd 2>&1`;
    die "@cmd: $out" if $? != 0;
    return $out;
}

# starts a server in $dir, listening on the Unix socket in $dir and, with
# $addr, on that address too; returns its conninfo for cartdb (host: the
# socket, or $addr)
sub pg_start {
    my ($dir, $port, $addr, $prefix) = @_;
    my $pg = { dir => $dir, port => $port, prefix => $prefix // '' };

    mkdir $dir;
    system('chown', 'postgres', $dir) == 0 or die 'chown';
    as_postgres('', "$BIN/initdb -D $dir/data -A trust -U postgres >/dev/null");

    open my $conf, '>>', "$dir/data/postgresql.conf" or die $!;
    print $conf "wal_level = logical\n",
                "listen_addresses = '", $addr // '', "'\n",
                "unix_socket_directories = '$dir'\n",
                "port = $port\n",
                "max_wal_senders = 20\n",
                "max_replication_slots = 20\n",
                "wal_sender_timeout = 10s\n",
                "fsync = off\n",
                "synchronous_commit = on\n";
    close $conf;

    open my $hba, '>>', "$dir/data/pg_hba.conf" or die $!;
    print $hba "host all all 0.0.0.0/0 trust\n",
               "host replication all 0.0.0.0/0 trust\n";
    close $hba;

    pg_restart($pg, 'start');

    $pg->{socket} = "host=$dir port=$port user=postgres";
    $pg->{conninfo} = "host=" . ($addr // $dir)
                      . " port=$port dbname=cartdb user=postgres";
    psql($pg, 'CREATE DATABASE cartdb', 'postgres');
    psql($pg, "\\i $SQL");

    return $pg;
}

# pg_ctl start, stop or restart (run inside $pg->{prefix}, a network
# namespace's "ip netns exec NS" for instance)
sub pg_restart {
    my ($pg, $what) = @_;
    $what //= 'restart';
    as_postgres($pg->{prefix}, "$BIN/pg_ctl -D $pg->{dir}/data -l "
                . "$pg->{dir}/log -w -m fast $what >/dev/null");
}

sub pg_stop {
    my ($pg) = @_;
    eval { pg_restart($pg, 'stop') };
}

# psql's answer to $sql (in cartdb, or $db), unaligned, no headers
sub psql {
    my ($pg, $sql, $db) = @_;
    $db //= 'cartdb';
    my $file = "$pg->{dir}/psql.$$.out";
    open my $p, '|-', "psql -qAtX -v ON_ERROR_STOP=1 "
                       . "'$pg->{socket} dbname=$db' >$file 2>&1"
        or die "psql: $!";
    print $p $sql, "\n";
    close $p;
    my $out = do { local (@ARGV, $/) = $file; <> };
    unlink $file;
    die "psql: $sql: $out" if $? != 0;
    chomp $out;
    return $out;
}

# a transaction that inserts these records
sub pg_insert {
    my ($pg, @records) = @_;
    psql($pg, join '', "BEGIN;\n",
         (map { "INSERT INTO cart_records (record) VALUES ("
                . quote($_) . ");\n" } @records), "COMMIT;\n");
}

sub quote {
    my $s = shift;
    $s =~ s/'/''/g;
    return "'$s'";
}

# a device and its domains (each as its own display name), inserted
sub pg_device {
    my ($pg, $dev, @domains) = @_;
    pg_insert($pg, (map { qq({"kind":"domain","domain":"$_",)
                          . qq("display_name":"$_","platform_id":"test",)
                          . qq("available":true}) } @domains),
              qq({"kind":"device","device_id":"$dev",)
              . qq("expires_at":"2099-01-01T00:00:00Z"}));
}

# the device's carts at these domains, one each, with the counter $n as
# their cart_id ("n-$n"): what a test's writer updates together
sub counter_carts {
    my ($dev, $n, @domains) = @_;
    my $m = '{"currency":"USD","value":1,"number":100,"symbol":"$"}';
    return map {
        qq({"kind":"cart","device_id":"$dev","domain":"$_",)
        . qq("expires_at":"2099-01-01T00:00:00Z",)
        . qq("updated_at":"2026-11-24T00:00:00Z","cart":{"cart_id":"n-$n",)
        . qq("line_items":[{"line_item_id":"i1","quantity":1,)
        . qq("price":$m,"line_price":$m}],"sub_total":$m,"total":$m}})
    } @domains;
}

# every record of the table, in id order
sub pg_records {
    my ($pg) = @_;
    return split /\n/, psql($pg, 'SELECT record FROM cart_records ORDER BY id');
}

1;
