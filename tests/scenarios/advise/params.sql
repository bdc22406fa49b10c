-- `querylab advise --sql` with parameters: the line right before a statement is
-- its params query, whose first row's columns bind $1, $2 in order (typed by the
-- server from the prepared statement: $1 is text, $2 a bigint).
-- params: SELECT lower(name) AS name, id - 1 AS after FROM shop.users WHERE id = 4242
SELECT id, name FROM shop.users WHERE lower(name) = $1 AND id > $2;
