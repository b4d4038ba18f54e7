-- A small copy of Debezium's tutorial inventory database.
CREATE DATABASE inventory;
USE inventory;
CREATE TABLE customers (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  first_name VARCHAR(255) NOT NULL,
  last_name VARCHAR(255) NOT NULL,
  email VARCHAR(255) NOT NULL UNIQUE KEY
) AUTO_INCREMENT=1001;
CREATE TABLE products (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description VARCHAR(512),
  weight FLOAT,
  price DECIMAL(10,2)
) AUTO_INCREMENT=101;
INSERT INTO customers VALUES (default, 'Sally', 'Thomas', 'sally.thomas@acme.com'),
  (default, 'George', 'Bailey', 'gbailey@foobar.com'),
  (default, 'Edward', 'Walker', 'ed@walker.com');
INSERT INTO products VALUES (default, 'scooter', 'Small 2-wheel scooter', 3.14, 149.99),
  (default, 'car battery', '12V car battery', 8.1, 89.50);
