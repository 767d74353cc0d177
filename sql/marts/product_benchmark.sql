-- product_benchmark: the product's rank among products of the same category (1 = lowest footprint)
-- and, where the enterprise declared a benchmark value, the ratio and a grade:
-- A <= 0.8 x benchmark, B <= 1.0, C <= 1.2, D above. Runs over product_footprint (after the incremental
-- merge), since a peer's change can move a product's rank.
select
    product_key,
    category,
    round(co2e_kg, 9)                                                   as co2e_kg,
    rank() over (partition by category order by co2e_kg)                as category_rank,
    count(*) over (partition by category)                               as category_products,
    benchmark_kgco2e,
    round(co2e_kg / nullif(benchmark_kgco2e, 0), 6)                     as ratio_to_benchmark,
    case
        when benchmark_kgco2e is null then null
        when co2e_kg <= 0.8 * benchmark_kgco2e then 'A'
        when co2e_kg <= 1.0 * benchmark_kgco2e then 'B'
        when co2e_kg <= 1.2 * benchmark_kgco2e then 'C'
        else 'D'
    end                                                                 as grade
from product_footprint
order by category, category_rank, product_key
