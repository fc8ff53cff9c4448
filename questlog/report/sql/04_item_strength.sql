-- Items sold, revenue and average strength (defense for shields) per kind of item
SELECT 'sword' AS item, count(*) AS sold, sum(sword_cost) AS revenue,
    round(avg(strength), 2) AS avg_strength
FROM hive.default.sword_purchases
UNION ALL
SELECT 'axe', count(*), sum(axe_cost), round(avg(strength), 2)
FROM hive.default.axe_purchases
UNION ALL
SELECT 'shield', count(*), sum(shield_cost), round(avg(defense), 2)
FROM hive.default.shield_purchases
ORDER BY revenue DESC
