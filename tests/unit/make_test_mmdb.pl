#!/usr/bin/perl
# Write a small GeoLite2-ASN-shaped MaxMind DB for the tests (Debian's libmaxmind-db-writer-perl).
# usage: make_test_mmdb.pl OUT.mmdb  — networks and ASNs below are the test's fixture.
use strict;
use warnings;
use utf8;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb\n";
my %types = (
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version            => 6,
	record_size           => 28,
	database_type         => 'GeoLite2-ASN',
	languages             => ['en'],
	description           => { en => 'tipoff test ASN database' },
	map_key_type_callback => sub { $types{ $_[0] } },
	alias_ipv6_to_ipv4    => 1,
	remove_reserved_networks => 0,
);
my @fixture = (
	[ '198.51.100.0/24', 64500, 'Example Transit' ],
	[ '198.51.100.128/25', 64501, 'More Specific' ],
	[ '203.0.113.0/24', 4294967295, 'Max ASN' ],
	[ '2001:db8::/32', 64502, 'Documentation Six' ],
	[ '2001:db8:1::/48', 64503, "Ünïcode Org" ],
);
for my $f (@fixture) {
	$tree->insert_network($f->[0], {
		autonomous_system_number => $f->[1],
		autonomous_system_organization => $f->[2],
	});
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh;
