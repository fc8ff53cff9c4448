-- Swords purchased, revenue and average strength per sword type
SELECT
    sword_type,
    count(*) AS swords,
    sum(sword_cost) AS revenue,
    round(avg(strength), 2) AS avg_strength
FROM hive.default.sword_purchases
GROUP BY sword_type
ORDER BY revenue DESC, sword_type
