-- Pilots per ship; the first is the most popular ship
SELECT ship, allegiance, count(*) AS pilots, max(ship_cost) AS ship_cost
FROM hive.default.pilot_enrolments
GROUP BY ship, allegiance
ORDER BY pilots DESC, ship
