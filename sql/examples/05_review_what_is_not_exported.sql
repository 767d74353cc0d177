-- dialect: mysql
-- How many factors of each source are approved (exportable) or held back, and why (MySQL style).
SELECT source_id,
       steward_status,
       COUNT(*) AS factors,
       SUM(CASE WHEN redistributable THEN 0 ELSE 1 END) AS licence_restricted
FROM factor
GROUP BY source_id, steward_status
ORDER BY source_id, steward_status
