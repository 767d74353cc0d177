-- product_footprint_gas: kg of each gas per declared unit across the supply chain, its GWP and CO2e.
-- 'CO2e' rows are amounts only known as CO2e (CO2e-only factors, suppliers' own footprints).
select
    process_id                                            as product_key,
    gas,
    round(amount_kg, 12)                                  as amount_kg,
    gwp,
    round(co2e_kg, 9)                                     as co2e_kg,
    (lower(gas) like '%biogenic%')                        as biogenic
from engine_gases
where amount_kg <> 0
order by product_key, gas
