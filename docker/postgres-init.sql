-- One database per app, plus each process's `default` (Django's own tables): the monolith's
-- and, for the split profile, one per app service.
CREATE DATABASE shop_default;
CREATE DATABASE shop_users;
CREATE DATABASE shop_products;
CREATE DATABASE shop_inventory;
CREATE DATABASE shop_payments;
CREATE DATABASE shop_default_users;
CREATE DATABASE shop_default_products;
CREATE DATABASE shop_default_inventory;
CREATE DATABASE shop_default_payments;
