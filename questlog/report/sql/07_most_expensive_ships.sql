-- The five most expensive ships enrolled
SELECT ship, allegiance, max(ship_cost) AS ship_cost
FROM hive.default.pilot_enrolments
GROUP BY ship, allegiance
ORDER BY ship_cost DESC, ship
LIMIT 5
