-- An append is one statement per message: the insert numbers the message from the context's
-- last_seq, and this trigger moves the context's counters in the same statement, so a single
-- message commits atomically without a transaction around it.
CREATE TRIGGER messages_counters AFTER INSERT ON messages BEGIN
    UPDATE contexts SET last_seq = new.seq, message_count = message_count + 1,
        token_count = token_count + new.tokens, updated_at = new.created_at
    WHERE id = new.context_id;
END;
