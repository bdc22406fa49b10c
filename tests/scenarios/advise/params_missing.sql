SELECT id FROM shop.users WHERE id = 1;

SELECT id FROM shop.users WHERE lower(name) = $1;
