-- Pilots and distinct players per alliance; the first is the most popular alliance
SELECT allegiance, count(*) AS pilots, count(DISTINCT user_id) AS players
FROM hive.default.pilot_enrolments
GROUP BY allegiance
ORDER BY pilots DESC, allegiance
