-- The least common exams: every exam taken the fewest times
SELECT exam_name, assessments
FROM (
    SELECT exam_name, count(*) AS assessments, rank() OVER (ORDER BY count(*)) AS place
    FROM hive.default.assessments
    GROUP BY exam_name
)
WHERE place = 1
ORDER BY exam_name
