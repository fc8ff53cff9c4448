-- Questions answered per result (correct, incorrect, missed_some, unanswered)
SELECT user_result, count(*) AS answers, count(DISTINCT user_exam_id) AS assessments
FROM hive.default.assessment_questions
GROUP BY user_result
ORDER BY answers DESC, user_result
