INSERT INTO shop.customers SELECT i, 'customer ' || i FROM generate_series(1, 100) i;
INSERT INTO shop.orders SELECT i, 1 + i % 100, i % 37 FROM generate_series(1, 2000) i;
