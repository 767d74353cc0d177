-- dialect: trino
-- Every product's footprint per declared unit with its Monte Carlo interval and data quality, in Trino
-- SQL (CAST, ROUND, CONCAT, || for strings).
SELECT product_id,
       declared_unit,
       ROUND(co2e_kg, 3) AS co2e_kg,
       CONCAT(CAST(ROUND(co2e_p5_kg, 2) AS VARCHAR), ' - ', CAST(ROUND(co2e_p95_kg, 2) AS VARCHAR)) AS p5_p95,
       ROUND(primary_data_share * 100, 1) AS primary_data_pct,
       dqr,
       gwp_set || ' / ' || release_version AS basis
FROM product_footprint
ORDER BY product_id
