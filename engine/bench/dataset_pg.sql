-- The realistic benchmark dataset (shared/TOOLCHAIN.md): ids, timestamps,
-- numbers, an md5 digest and 3..11 random words per row.
-- psql -v rows=5000000 -f dataset_pg.sql  (5,000,000 rows ≈ 731 MB pg_dump -Fc -Z0)
CREATE TABLE events (
  id          bigint        PRIMARY KEY,
  created_at  timestamptz   NOT NULL,
  qty         int           NOT NULL,
  digest      text          NOT NULL,
  amount      numeric(12,2) NOT NULL,
  status      text          NOT NULL,
  note        text          NOT NULL
);

INSERT INTO events
SELECT g,
       timestamptz '2024-01-01 00:00:00+00' + random() * interval '365 days',
       (random() * 100000)::int,
       md5(g::text || random()::text),
       round((random() * 100000)::numeric, 2),
       (ARRAY['new','pending','paid','shipped','cancelled','refunded'])[1 + floor(random() * 6)::int],
       array_to_string(ARRAY(
         SELECT w.words[1 + floor(random() * array_length(w.words, 1))::int]
           FROM generate_series(1, 3 + (g % 9))), ' ')
FROM generate_series(1, :rows) AS g,
     (SELECT ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel',
                   'india','juliet','kilo','lima','mike','november','oscar','papa',
                   'quebec','romeo','sierra','tango','uniform','victor','whiskey','xray',
                   'yankee','zulu','order','invoice','customer','shipment','warehouse',
                   'payment','refund','account','ledger','balance','transfer','report',
                   'pending','approved','rejected','urgent','routine','north','south',
                   'east','west','central','backup','restore'] AS words) AS w;

VACUUM ANALYZE events;
