-- 60,000 users; one in a hundred is pending (a skewed status); names are mixed case.
INSERT INTO shop.users
SELECT g,
       'User' || g,
       CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'done' END,
       timestamp '2024-01-01' + ((g * 7919) % 60000) * interval '1 minute',
       jsonb_build_object('n', g, 'plan', CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END)
FROM generate_series(1, 60000) AS g;
