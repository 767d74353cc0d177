-- dialect: postgres
-- Diesel combustion factors side by side across sources (written as a Postgres analyst would: ::casts,
-- ILIKE, string_agg); per unit and GWP set as stored.
SELECT source_id,
       unit,
       COUNT(*) AS factors,
       ROUND(AVG(co2e_kg)::numeric, 4) AS mean_co2e_kg,
       STRING_AGG(DISTINCT geography_code, ',') AS geographies
FROM factor
WHERE activity_key = 'fuel.diesel' AND name_en ILIKE '%diesel%'
GROUP BY source_id, unit
ORDER BY source_id, unit
