-- params: SELECT lower(name) AS name FROM shop.users LIMIT 1
SELECT id FROM shop.users WHERE lower(name) = $1 AND id > $2;
