SELECT id FROM shop.users WHERE id = 1;

SELECT nope FROM shop.users;
