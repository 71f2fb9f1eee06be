#!/usr/bin/env node
// Analysts' baseline pipeline in DuckDB SQL (via @duckdb/node-api): ingest,
// sessionize and churn labels, the same stages and outputs as
// pandas_pipeline.py. Written the way DuckDB is normally used: read_csv with
// explicit columns, CREATE TABLE AS, window functions; default threading.
//
//   node bench/baselines/duckdb_pipeline.mjs --data DIR [--as-of ISO]
//        [--out OUTDIR] [--stages ingest,sessionize,label] [--threads N]
//        [--write-sessions]
//
// See README.md in this directory for the output files.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, version as duckdbVersion } from '@duckdb/node-api';

const US_PER_MIN = 60n * 1000000n;
const US_PER_DAY = 24n * 60n * US_PER_MIN;
const SESSION_GAP_US = 30n * US_PER_MIN;
const CHURN_WINDOW_US = 25n * US_PER_DAY;

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    'as-of': { type: 'string' },
    out: { type: 'string' },
    stages: { type: 'string', default: 'ingest,sessionize,label' },
    threads: { type: 'string' },
    'write-sessions': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help || !args.data) {
  console.log('usage: duckdb_pipeline.mjs --data DIR [--as-of ISO] [--out OUTDIR] ' +
              '[--stages ingest,sessionize,label] [--threads N] [--write-sessions]');
  process.exit(args.help ? 0 : 2);
}
const stages = args.stages.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of stages) {
  if (!['ingest', 'sessionize', 'label'].includes(s)) {
    console.error(`unknown stage: ${s} (the DuckDB baseline has ingest,sessionize,label)`);
    process.exit(2);
  }
}

const EVENT_NAMES = ['HOMEPAGE', 'SEARCH', 'ITEM_DETAIL', 'ADD_TO_CART', 'ADD_PROMO',
                     'BOOKING', 'CLICK', 'SCROLL', 'PROMO_PAGE'];
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const file = (name) => sqlString(path.join(args.data, name));

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const run = (sql) => con.run(sql);
const one = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson()[0];
await run("SET TimeZone = 'UTC'");
if (args.threads) await run(`SET threads = ${Number(args.threads)}`);

const timings = {};
const summary = {};
const now = () => performance.now() / 1000;
const tAll = now();

// Checks a file's header line against the expected columns.
async function checkHeader(name, cols) {
  const row = await one(`SELECT * FROM read_csv(${file(name)}, header = false,
      auto_detect = false, columns = {'line': 'VARCHAR'}, delim = '\x01',
      quote = '', escape = '') LIMIT 1`);
  const header = (row?.line ?? '').replace(/\r$/, '');
  if (header !== cols.join(',')) {
    throw new Error(`${path.join(args.data, name)}: line 1: unexpected header ${header}`);
  }
}
const colSpec = (cols) => `{${cols.map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(', ')}}`;

// ---------------------------------------------------------------------------
// Stage 1: ingest
// ---------------------------------------------------------------------------
let t0 = now();
const CUSTOMER = [
  ['customer_id', 'BIGINT'], ['first_name', 'VARCHAR'], ['last_name', 'VARCHAR'],
  ['username', 'VARCHAR'], ['email', 'VARCHAR'], ['gender', 'VARCHAR'],
  ['birthdate', 'DATE'], ['device_type', 'VARCHAR'], ['device_id', 'VARCHAR'],
  ['device_version', 'VARCHAR'], ['home_location_lat', 'DOUBLE'],
  ['home_location_long', 'DOUBLE'], ['home_location', 'VARCHAR'],
  ['home_country', 'VARCHAR'], ['first_join_date', 'DATE']];
const PRODUCT = [
  ['id', 'BIGINT'], ['gender', 'VARCHAR'], ['masterCategory', 'VARCHAR'],
  ['subCategory', 'VARCHAR'], ['articleType', 'VARCHAR'], ['baseColour', 'VARCHAR'],
  ['season', 'VARCHAR'], ['year', 'INTEGER'], ['usage', 'VARCHAR'],
  ['productDisplayName', 'VARCHAR']];
const TRANSACTION = [
  ['created_at', 'TIMESTAMPTZ'], ['customer_id', 'BIGINT'], ['booking_id', 'VARCHAR'],
  ['session_id', 'VARCHAR'], ['product_metadata', 'VARCHAR'], ['payment_method', 'VARCHAR'],
  ['payment_status', 'VARCHAR'], ['promo_amount', 'BIGINT'], ['promo_code', 'VARCHAR'],
  ['shipment_fee', 'BIGINT'], ['shipment_date_limit', 'TIMESTAMPTZ'],
  ['shipment_location_lat', 'DOUBLE'], ['shipment_location_long', 'DOUBLE'],
  ['total_amount', 'BIGINT']];
const CLICK = [
  ['session_id', 'VARCHAR'], ['event_name', 'VARCHAR'], ['event_time', 'TIMESTAMPTZ'],
  ['event_id', 'VARCHAR'], ['traffic_source', 'VARCHAR'], ['event_metadata', 'VARCHAR']];

await checkHeader('customer.csv', CUSTOMER.map((c) => c[0]));
await checkHeader('product.csv', PRODUCT.map((c) => c[0]));
await checkHeader('transactions.csv', TRANSACTION.map((c) => c[0]));
await checkHeader('click_stream.csv', CLICK.map((c) => c[0]));

await run(`CREATE TABLE customers AS SELECT * FROM read_csv(${file('customer.csv')},
    header = true, auto_detect = false, columns = ${colSpec(CUSTOMER)})`);

// product.csv: ~22 rows have unquoted commas in productDisplayName (the last
// column) and so 11-12 fields. Read with extra null-padded columns and rejoin
// the trailing fields into the name; count the repaired rows.
const EXTRA = [['x1', 'VARCHAR'], ['x2', 'VARCHAR'], ['x3', 'VARCHAR'], ['x4', 'VARCHAR']];
await run(`CREATE TABLE products AS
  SELECT * EXCLUDE (productDisplayName, x1, x2, x3, x4),
         CASE WHEN x1 IS NULL THEN productDisplayName
              ELSE concat_ws(',', coalesce(productDisplayName, ''), x1, x2, x3, x4)
         END AS productDisplayName,
         x1 IS NOT NULL AS repaired
  FROM read_csv(${file('product.csv')}, header = true, auto_detect = false,
                null_padding = true, columns = ${colSpec([...PRODUCT, ...EXTRA])})`);

// transactions.csv: product_metadata is a Python-literal list of dicts; turn
// the quotes into JSON quotes and parse it with from_json.
await run(`CREATE TABLE transactions AS
  SELECT * EXCLUDE (product_metadata),
         epoch_us(created_at) AS created_at_us,
         from_json(replace(product_metadata, '''', '"'),
                   '[{"product_id": "BIGINT", "quantity": "BIGINT", "item_price": "BIGINT"}]')
           AS items
  FROM read_csv(${file('transactions.csv')}, header = true, auto_detect = false,
                columns = ${colSpec(TRANSACTION)})`);

// click_stream.csv; event_metadata is not needed by stages 2-5 and stays text.
await run(`CREATE TABLE clicks AS
  SELECT * EXCLUDE (event_time), epoch_us(event_time) AS event_time_us
  FROM read_csv(${file('click_stream.csv')}, header = true, auto_detect = false,
                columns = ${colSpec(CLICK)})`);
timings.ingest = now() - t0;

let asOf;
if (args['as-of']) {
  asOf = BigInt((await one(`SELECT epoch_us(${sqlString(args['as-of'])}::TIMESTAMPTZ) AS t`)).t);
} else {
  asOf = BigInt((await one(`SELECT greatest((SELECT max(event_time_us) FROM clicks),
                                            (SELECT max(created_at_us) FROM transactions)) AS t`)).t);
}
Object.assign(summary, await one(`SELECT
    (SELECT count(*) FROM customers) AS customers,
    (SELECT count(*) FROM products) AS products,
    (SELECT count(*) FILTER (WHERE repaired) FROM products) AS products_repaired,
    (SELECT count(*) FROM transactions) AS bookings,
    (SELECT sum(len(items)) FROM transactions) AS line_items,
    (SELECT count(*) FROM clicks) AS click_events`));
summary.as_of_us = asOf.toString();

const toNumbers = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v)]));
if (args.out) mkdirSync(args.out, { recursive: true });

// ---------------------------------------------------------------------------
// Stage 2: sessionize
// ---------------------------------------------------------------------------
if (stages.includes('sessionize')) {
  t0 = now();
  await run(`CREATE TABLE sessions AS
    WITH ev AS (
      SELECT session_id, event_name, event_time_us, event_id, traffic_source,
             event_time_us - lag(event_time_us) OVER w AS gap
      FROM clicks
      WHERE event_time_us <= ${asOf}
      WINDOW w AS (PARTITION BY session_id ORDER BY event_time_us, event_id)
    ),
    pieces AS (
      SELECT *,
             sum(CASE WHEN gap IS NULL OR gap > ${SESSION_GAP_US} THEN 1 ELSE 0 END)
               OVER (PARTITION BY session_id ORDER BY event_time_us, event_id
                     ROWS UNBOUNDED PRECEDING) AS piece
      FROM ev
    ),
    links AS (   -- earliest booking at or before T, whatever its payment status
      SELECT session_id, arg_min(customer_id, created_at_us) AS customer_id
      FROM transactions WHERE created_at_us <= ${asOf}
      GROUP BY session_id
    )
    SELECT p.session_id, p.piece,
           min(event_time_us) AS start_us, max(event_time_us) AS end_us,
           count(*) AS events,
           arg_max(event_name, (event_time_us, event_id)) AS last_event,
           arg_min(traffic_source, (event_time_us, event_id)) AS traffic_source,
           ${EVENT_NAMES.map((e) => `count(*) FILTER (WHERE event_name = '${e}') AS ` +
                                    e.toLowerCase()).join(',\n           ')},
           bool_or(event_name = 'BOOKING') AS has_booking,
           any_value(l.customer_id) AS customer_id
    FROM pieces p LEFT JOIN links l USING (session_id)
    GROUP BY p.session_id, p.piece`);
  timings.sessionize = now() - t0;
  Object.assign(summary, toNumbers(await one(`SELECT
      (SELECT count(*) FROM clicks WHERE event_time_us <= ${asOf}) AS click_events_used,
      count(DISTINCT session_id) AS session_ids,
      count(*) AS sessions,
      count(customer_id) AS sessions_linked
    FROM sessions`)));
  if (args.out) {
    await run(`COPY (SELECT customer_id, count(*) AS sessions FROM sessions
                     WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY customer_id)
               TO ${sqlString(path.join(args.out, 'sessions_per_customer.csv'))} (HEADER, DELIMITER ',')`);
    if (args['write-sessions']) {   // one row per session, not timed
      await run(`COPY (SELECT session_id || '#' || piece AS session_id, customer_id, start_us, end_us,
                              events, ${EVENT_NAMES.map((e) => e.toLowerCase()).join(', ')},
                              traffic_source, last_event
                       FROM sessions ORDER BY sessions.session_id, piece)
                 TO ${sqlString(path.join(args.out, 'sessions.csv'))}
                 (HEADER, DELIMITER ',', QUOTE '')`);  // it would quote the '#'; no field has a comma
    }
  }
}

// ---------------------------------------------------------------------------
// Stage 3: churn labels (25-day rule)
// ---------------------------------------------------------------------------
if (stages.includes('label')) {
  t0 = now();
  await run(`CREATE TABLE labels AS
    WITH purchases AS (
      SELECT customer_id, created_at_us,
             strftime(make_timestamp(created_at_us), '%Y-%m') AS month
      FROM transactions
      WHERE payment_status = 'Success' AND created_at_us <= ${asOf}
    ),
    months AS (
      SELECT customer_id, month, min(created_at_us) AS first_us, max(created_at_us) AS last_us
      FROM purchases GROUP BY customer_id, month
    ),
    nxt AS (   -- the next purchase after the month's last one
      SELECT *, lead(first_us) OVER (PARTITION BY customer_id ORDER BY month) AS next_us
      FROM months
    )
    SELECT customer_id, month, last_us AS last_purchase_at_us,
           CASE WHEN last_us + ${CHURN_WINDOW_US} > ${asOf} THEN 0
                WHEN next_us IS NOT NULL AND next_us - last_us <= ${CHURN_WINDOW_US} THEN 0
                ELSE 1 END AS churned,
           CASE WHEN last_us + ${CHURN_WINDOW_US} > ${asOf} THEN 1 ELSE 0 END AS censored
    FROM nxt`);
  timings.label = now() - t0;
  Object.assign(summary, toNumbers(await one(`SELECT
      (SELECT count(*) FROM transactions
       WHERE payment_status = 'Success' AND created_at_us <= ${asOf}) AS purchases,
      count(*) FILTER (WHERE censored = 0) AS labeled,
      sum(censored) AS censored,
      sum(churned) AS churned
    FROM labels`)));
  if (args.out) {
    await run(`COPY (SELECT * FROM labels ORDER BY customer_id, month)
               TO ${sqlString(path.join(args.out, 'labels.csv'))} (HEADER, DELIMITER ',')`);
  }
}

timings.total = now() - tAll;
for (const k of ['customers', 'products', 'products_repaired', 'bookings', 'line_items',
                 'click_events', 'as_of_us']) {
  summary[k] = Number(summary[k]);
}
summary.timings = timings;
// Peak RSS of this process (DuckDB runs in-process), like ru_maxrss.
summary.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
summary.tool = {
  name: 'duckdb',
  duckdb: (await one('SELECT version() AS v')).v,
  node_api: duckdbVersion?.() ?? null,
  node: process.version,
  threads: Number((await one("SELECT current_setting('threads') AS t")).t),
};
if (args.out) {
  writeFileSync(path.join(args.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}
console.log(JSON.stringify(summary, null, 2));
