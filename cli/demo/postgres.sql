-- A small copy of Debezium's tutorial inventory database.
CREATE SCHEMA inventory;
SET search_path TO inventory;
CREATE TABLE customers (
  id SERIAL PRIMARY KEY,
  first_name VARCHAR(255) NOT NULL,
  last_name VARCHAR(255) NOT NULL,
  email VARCHAR(255) NOT NULL UNIQUE
);
ALTER SEQUENCE customers_id_seq RESTART WITH 1001;
CREATE TABLE products (
  id SERIAL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description VARCHAR(512),
  weight DOUBLE PRECISION,
  price NUMERIC(10,2)
);
ALTER SEQUENCE products_id_seq RESTART WITH 101;
CREATE TABLE orders (
  id SERIAL PRIMARY KEY,
  order_date DATE NOT NULL,
  purchaser INTEGER NOT NULL REFERENCES customers(id),
  quantity INTEGER NOT NULL,
  product_id INTEGER NOT NULL REFERENCES products(id)
);
ALTER SEQUENCE orders_id_seq RESTART WITH 10001;
INSERT INTO customers (first_name, last_name, email) VALUES
  ('Sally', 'Thomas', 'sally.thomas@acme.com'),
  ('George', 'Bailey', 'gbailey@foobar.com'),
  ('Edward', 'Walker', 'ed@walker.com'),
  ('Anne', 'Kretchmar', 'annek@noanswer.org');
INSERT INTO products (name, description, weight, price) VALUES
  ('scooter', 'Small 2-wheel scooter', 3.14, 149.99),
  ('car battery', '12V car battery', 8.1, 89.50),
  ('hammer', '12oz carpenter''s hammer', 0.75, 12.00);
INSERT INTO orders (order_date, purchaser, quantity, product_id) VALUES
  ('2016-01-16', 1001, 1, 102),
  ('2016-01-17', 1002, 2, 101);
-- The orders service's outbox (Debezium's basic outbox table): the service
-- writes an event row here in the transaction that changes its orders, and
-- the outbox connector publishes it with the EventRouter.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  aggregatetype VARCHAR(255) NOT NULL,
  aggregateid VARCHAR(255) NOT NULL,
  type VARCHAR(255) NOT NULL,
  payload JSONB
);
