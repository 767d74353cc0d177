-- dialect: duckdb
-- Provincial electricity factors (MEE/NBS Scope 2, CO2 only) with their year and document, newest first.
-- Life-cycle (carbon-footprint) factors are a different purpose: filter on factor_purpose, never mix.
select geography_code, geography_name, reference_year, co2e_kg, unit, factor_purpose, document
from factor
where activity_key = 'electricity.grid_average'
  and geography_level = 'province'
  and source_id = 'cn_mee_electricity_co2'
order by geography_code, reference_year desc
