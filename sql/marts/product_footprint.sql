-- product_footprint: one row per enterprise product, reporting year and declared unit (the newest year in force
-- keeps the plain product id; earlier years are '<id>@<year>', enterprise/inventory.py with_period).
-- Total (location-based electricity), market-based total, biogenic part (also inside the total, as
-- ISO 14067 6.5.2.2 asks it to be reported separately), primary data share (PACT), DQR and pedigree,
-- Monte Carlo P5/P50/P95 (seeded), the GWP set, and inputs_sha256: a fingerprint of everything the
-- row depends on (engine/incremental.py), so an unchanged product's rows are carried over, not redone.
-- The release version is added by the catalogue view.
select
    process_id                                   as product_key,
    uscc,
    product_id,
    reporting_year,
    product_name,
    category,
    declared_unit,
    round(co2e_kg, 9)                            as co2e_kg,
    round(co2e_market_kg, 9)                     as co2e_market_kg,
    round(co2e_biogenic_kg, 9)                   as co2e_biogenic_kg,
    round(co2e_kg - co2e_biogenic_kg, 9)         as co2e_fossil_and_other_kg,
    round(primary_data_share, 6)                 as primary_data_share,
    round(dqr, 4)                                as dqr,
    round(dq_reliability, 4)                     as dq_reliability,
    round(dq_completeness, 4)                    as dq_completeness,
    round(dq_temporal, 4)                        as dq_temporal,
    round(dq_geographical, 4)                    as dq_geographical,
    round(dq_technological, 4)                   as dq_technological,
    round(mc_p5, 9)                              as co2e_p5_kg,
    round(mc_p50, 9)                             as co2e_p50_kg,
    round(mc_p95, 9)                             as co2e_p95_kg,
    mc_iterations,
    mc_seed,
    lines,
    lines_unmatched,
    benchmark_kgco2e,
    gwp_set,
    inputs_sha256
from engine_products
order by product_key
