-- dialect: spark
-- The significant contributors of each product (the report's 'significant links'), Spark SQL.
SELECT f.product_id,
       c.line_id,
       c.stage,
       c.factor_name,
       ROUND(c.share * 100, 1) AS share_pct
FROM product_contribution c
JOIN product_footprint f ON f.product_key = c.product_key
WHERE c.significant
ORDER BY f.product_id, c.share DESC
