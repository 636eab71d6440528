/* synth_names.c - curated name knowledge for the synthetic-data generator:
   nicknames and known-as forms, interchangeable spellings, accented forms,
   and the accent folding used to look names up.  Frequencies live in the
   generated lib/synth_tables.c; this file holds what no frequency table says. */
#include "config.h"

#include "synth_names.h"

#include <string.h>

/* Names people go by.  Drawn from English usage (Bill, Peggy), Welsh (Dai),
   the anglicised names Polish and Romanian adults often use at work (Łukasz ->
   Luke, Ionuț -> John), Polish diminutives (Kasia, Gosia), and the short forms
   of long Yoruba and Igbo names (Oluwaseun -> Seun, Chukwuemeka -> Emeka).
   Mohammed -> Md/Mohd are the abbreviations Bangladeshi and Malaysian records
   use as if they were names. */
const synth_nickname synth_nicknames[] = {
    {"William", "Bill|Will|Billy|Willie|Liam"},
    {"Robert", "Bob|Rob|Bobby|Robbie|Bert"},
    {"Richard", "Rich|Rick|Dick|Richie|Ricky"},
    {"Margaret", "Peggy|Maggie|Meg|Madge|Margie|Rita|Maisie"},
    {"Elizabeth", "Liz|Beth|Betty|Lizzie|Eliza|Libby|Bess|Elsie|Lisa"},
    {"Katherine", "Kate|Kathy|Katie|Kat|Kitty|Kay"},
    {"Catherine", "Kate|Cathy|Cath|Katie|Cat|Kay"},
    {"Kathryn", "Kate|Kathy|Katie"},
    {"Mohammed", "Mo|Mohd|Md"},
    {"Muhammad", "Mo|Mohd|Md"},
    {"Mohammad", "Mo|Mohd"},
    {"Mohamed", "Mo|Moe"},
    {"James", "Jim|Jimmy|Jamie"},
    {"John", "Jack|Johnny|Jon"},
    {"Jonathan", "Jon|Jonny|Nathan"},
    {"Michael", "Mike|Mick|Mickey|Micky|Mikey"},
    {"Anthony", "Tony|Ant"},
    {"Christopher", "Chris|Kit"},
    {"Christine", "Chris|Chrissie|Tina"},
    {"Christina", "Chris|Tina"},
    {"Patricia", "Pat|Patsy|Trish|Tricia"},
    {"Patrick", "Pat|Paddy"},
    {"Edward", "Ed|Eddie|Ted|Ned|Teddy"},
    {"Thomas", "Tom|Tommy"},
    {"Joseph", "Joe|Joey"},
    {"Daniel", "Dan|Danny"},
    {"David", "Dave|Davy|Dai"},
    {"Stephen", "Steve|Stevie"},
    {"Steven", "Steve|Stevie"},
    {"Peter", "Pete"},
    {"Alexander", "Alex|Sandy|Xander|Al"},
    {"Alexandra", "Alex|Sandra|Lexi|Alexa"},
    {"Samuel", "Sam|Sammy"},
    {"Samantha", "Sam|Sammie"},
    {"Benjamin", "Ben|Benji|Benny"},
    {"Matthew", "Matt|Matty"},
    {"Andrew", "Andy|Drew"},
    {"Nicholas", "Nick|Nicky"},
    {"Nicola", "Nicky|Nikki"},
    {"Jennifer", "Jenny|Jen"},
    {"Susan", "Sue|Susie|Suzy"},
    {"Deborah", "Debbie|Deb|Debs"},
    {"Rebecca", "Becky|Becca|Bex"},
    {"Victoria", "Vicky|Tori|Vic"},
    {"Charlotte", "Charlie|Lottie"},
    {"Charles", "Charlie|Chas|Chaz"},
    {"Frederick", "Fred|Freddie|Freddy"},
    {"Henry", "Harry|Hal"},
    {"Harold", "Harry|Hal"},
    {"Albert", "Bert|Albie|Alby"},
    {"Herbert", "Bert|Herb"},
    {"Arthur", "Art|Artie"},
    {"Dorothy", "Dot|Dolly|Dottie|Dora"},
    {"Mary", "Molly|Polly|May"},
    {"Helen", "Nell|Nellie"},
    {"Ellen", "Nell|Nellie|Ellie"},
    {"Eleanor", "Ellie|Nora|Nell"},
    {"Florence", "Flo|Florrie|Flossie"},
    {"Gwendoline", "Gwen|Wendy"},
    {"Jacqueline", "Jackie|Jacqui"},
    {"Josephine", "Jo|Josie"},
    {"Joanne", "Jo"},
    {"Joanna", "Jo|Asia"},
    {"Kenneth", "Ken|Kenny"},
    {"Leonard", "Len|Lenny"},
    {"Lawrence", "Larry|Laurie"},
    {"Ronald", "Ron|Ronnie"},
    {"Donald", "Don|Donny"},
    {"Gerald", "Gerry|Ged"},
    {"Geoffrey", "Geoff|Jeff"},
    {"Terence", "Terry|Tel"},
    {"Timothy", "Tim|Timmy"},
    {"Philip", "Phil|Pip"},
    {"Raymond", "Ray"},
    {"Reginald", "Reg|Reggie"},
    {"Stanley", "Stan"},
    {"Walter", "Wally|Walt"},
    {"Barbara", "Babs|Barb"},
    {"Beatrice", "Bea|Trixie"},
    {"Abigail", "Abi|Abby"},
    {"Amelia", "Millie|Amy|Mia"},
    {"Isabella", "Bella|Izzy|Issy"},
    {"Isabelle", "Bella|Izzy"},
    {"Isobel", "Izzy|Issy"},
    {"Olivia", "Liv|Livvy"},
    {"Sophia", "Sophie"},
    {"Jessica", "Jess|Jessie"},
    {"Emily", "Em|Emmy|Millie"},
    {"Gabriel", "Gabe"},
    {"Zachary", "Zac|Zach"},
    {"Jacob", "Jake"},
    {"Joshua", "Josh"},
    {"Oliver", "Ollie|Olly"},
    {"Theodore", "Theo|Ted|Teddy"},
    {"Alfred", "Alf|Alfie"},
    {"Archibald", "Archie"},
    {"Frances", "Fran|Frankie"},
    {"Francis", "Frank|Frankie"},
    {"Gregory", "Greg"},
    {"Douglas", "Doug|Dougie"},
    {"Malcolm", "Mal|Malc"},
    {"Derek", "Del"},
    {"Harriet", "Hattie"},
    {"Louise", "Lou|Lulu"},
    {"Louisa", "Lou"},
    {"Lucinda", "Lucy|Cindy"},
    {"Maureen", "Mo"},
    {"Valerie", "Val"},
    {"Pamela", "Pam"},
    {"Sandra", "Sandy"},
    {"Christian", "Chris"},
    {"Gillian", "Gill|Jill"},
    {"Kimberley", "Kim"},
    {"Anne", "Annie"},
    {"Ann", "Annie"},
    {"Penelope", "Penny"},
    {"Rosemary", "Rose|Rosie"},
    {"Rosalind", "Ros|Roz"},
    {"Theresa", "Tess|Tessa|Terri"},
    {"Teresa", "Tess|Terri"},
    {"Cynthia", "Cindy"},
    {"Vincent", "Vince|Vinny"},
    {"Nathaniel", "Nat|Nate|Nathan"},
    {"Nathan", "Nate|Nat"},
    {"Maximilian", "Max"},
    {"Maxwell", "Max"},
    {"Sebastian", "Seb"},
    {"Dominic", "Dom"},
    {"Edmund", "Ed|Ted"},
    {"Edwin", "Ed|Eddie"},
    {"Eugene", "Gene"},
    {"Tobias", "Toby"},
    {"Madeleine", "Maddie|Maddy"},
    {"Matilda", "Tilly|Tilda"},
    {"Natalie", "Nat"},
    {"Natasha", "Tash|Tasha"},
    {"Stephanie", "Steph"},
    {"Veronica", "Ronnie"},
    {"Winifred", "Winnie|Freda"},
    {"Wilfred", "Wilf"},
    {"Ernest", "Ernie"},
    {"Percival", "Percy"},
    {"Leslie", "Les"},
    {"Sidney", "Sid"},
    {"Sydney", "Sid"},
    {"Clifford", "Cliff"},
    {"Bernard", "Bernie"},
    {"Gertrude", "Gertie|Trudy"},
    {"Agnes", "Aggie"},
    {"Evelyn", "Evie|Eve"},
    {"Georgina", "Georgie|Gina"},
    {"Georgia", "Georgie"},
    {"Caroline", "Carol|Caz|Carrie"},
    {"Melanie", "Mel"},
    {"Melissa", "Mel|Missy"},
    {"Danielle", "Dani"},
    {"Gabrielle", "Gabby"},
    {"Vanessa", "Ness"},
    {"Janet", "Jan"},
    {"Janice", "Jan"},
    {"Judith", "Judy|Jude"},
    {"Lesley", "Les"},
    {"Vivienne", "Viv"},
    {"Imogen", "Immy"},
    {"Aleksandra", "Ola|Alex"},
    {"Katarzyna", "Kasia|Kate"},
    {"Małgorzata", "Gosia|Margaret"},
    {"Agnieszka", "Aga|Agnes"},
    {"Wojciech", "Wojtek"},
    {"Krzysztof", "Krzys|Chris"},
    {"Łukasz", "Luke"},
    {"Piotr", "Peter"},
    {"Paweł", "Paul"},
    {"Michał", "Michael|Mike"},
    {"Jakub", "Kuba|Jacob"},
    {"Tomasz", "Tom|Tomek"},
    {"Grzegorz", "Greg"},
    {"Marcin", "Martin"},
    {"Mateusz", "Matt"},
    {"Bartosz", "Bart|Bartek"},
    {"Magdalena", "Magda"},
    {"Przemysław", "Przemek"},
    {"Aleksander", "Olek|Alex"},
    {"Radosław", "Radek"},
    {"Jarosław", "Jarek"},
    {"Ionuț", "John"},
    {"Alexandru", "Alex"},
    {"Ștefan", "Stefan|Steve"},
    {"Oluwaseun", "Seun"},
    {"Oluwatobi", "Tobi|Toby"},
    {"Oluwakemi", "Kemi"},
    {"Funmilayo", "Funmi"},
    {"Folasade", "Sade|Fola"},
    {"Temitope", "Tope|Temi"},
    {"Damilola", "Dami|Lola"},
    {"Tolulope", "Tolu"},
    {"Adebayo", "Bayo|Ade"},
    {"Olumide", "Mide"},
    {"Chukwuemeka", "Emeka"},
    {"Chiamaka", "Amaka"},
    {"Abdirahman", "Abdi"},
    {"Abdullahi", "Abdi"},
    {"Abdirizak", "Abdi"},
    {"Kwabena", "Kobby"},
    {"Mehmet", "Memo"},
    {"Hüseyin", "Hussein"},
};
const size_t synth_nickname_count = sizeof synth_nicknames / sizeof synth_nicknames[0];

/* Interchangeable spellings.  A record of Muhammad Hussain may say Mohammed
   Hussein elsewhere: transliteration from Arabic script has no one spelling,
   and English names have their own pairs (Stephen/Steven). */
const char *const synth_variants[] = {
    "Mohammed|Muhammad|Mohammad|Mohamed|Muhammed|Mohamad",
    "Stephen|Steven",
    "Catherine|Katherine|Kathryn|Katharine|Catharine|Cathryn",
    "Ann|Anne",
    "Sara|Sarah",
    "Philip|Phillip",
    "Geoffrey|Jeffrey|Jeffery",
    "Alan|Allan|Allen",
    "Brian|Bryan",
    "Neil|Neal|Niall",
    "Clare|Claire",
    "Jayden|Jaden|Jaiden|Jaydon",
    "Aidan|Aiden|Ayden",
    "Isabel|Isabelle|Isobel",
    "Lucy|Lucie",
    "Zoe|Zoey",
    "Hannah|Hanna",
    "Rebecca|Rebekah",
    "Leah|Lea",
    "Megan|Meghan|Meagan",
    "Caitlin|Kaitlyn|Katelyn|Caitlyn",
    "Louis|Lewis",
    "Matthew|Mathew",
    "Nicola|Nichola",
    "Mark|Marc",
    "Teresa|Theresa",
    "Tracy|Tracey",
    "Lindsay|Lindsey",
    "Kirsty|Kirstie",
    "Joanne|Joann",
    "Graham|Graeme",
    "Ian|Iain",
    "Sean|Shaun|Shawn",
    "Stuart|Stewart",
    "Carl|Karl",
    "Vicky|Vicki|Vikki",
    "Deborah|Debra",
    "Lee|Leigh",
    "Darren|Daren",
    "Abdul|Abdool",
    "Ahmed|Ahmad|Ahmet",
    "Hussain|Hussein|Husain|Hossain",
    "Yusuf|Yousef|Youssef|Yusef|Yousuf|Yousaf",
    "Ibrahim|Ebrahim",
    "Fatima|Fatimah|Fathima",
    "Aisha|Ayesha|Aishah|Aysha",
    "Maryam|Mariam|Maryan",
    "Zainab|Zaynab",
    "Usman|Osman|Othman",
    "Khadija|Khadijah|Khadeeja",
    "Imran|Emran",
    "Hasan|Hassan",
    "Sofia|Sophia",
    "Eleanor|Elinor",
    "Ellie|Elly",
    "Jasmine|Jasmin",
    "Yasmin|Yasmeen|Yasmine",
    "Aaliyah|Aliyah",
    "Phoebe|Pheobe",
    "Layla|Leila|Laila|Leyla",
    "Rhys|Reece|Reese",
    "Callum|Calum",
    "Connor|Conor",
    "Elliot|Elliott",
    "Jonathan|Jonathon",
    "Anthony|Antony",
    "Dominic|Dominik",
    "Nicholas|Nicolas|Nikolas",
    "Alistair|Alasdair|Alastair",
    "Rachel|Rachael",
    "Emilia|Emelia",
    "Gemma|Jemma",
    "Jodie|Jody|Jodi",
    "Kerry|Kerri|Keri",
    "Natalie|Nathalie",
    "Thompson|Thomson",
    "Phillips|Philips",
    "Matthews|Mathews",
    "Clarke|Clark",
    "Reid|Reed|Read",
    "Gray|Grey",
    "Brown|Browne",
    "Smith|Smyth",
    "McDonald|MacDonald|Macdonald",
    "McKenzie|Mackenzie|MacKenzie",
    "McLeod|MacLeod|Macleod",
    "Choudhury|Chowdhury|Chaudhry|Chaudhary|Choudhry",
    "Rahman|Rehman",
    "Mahmood|Mahmud|Mehmood",
    "Davies|Davis",
    "Stephens|Stevens",
    "Nicholls|Nichols",
    "Anderson|Andersen",
    "Akhtar|Akter|Akhter",
    "Haque|Hoque|Huq",
    "Miah|Mia|Meah",
};
const size_t synth_variant_count = sizeof synth_variants / sizeof synth_variants[0];

/* Accented forms of names the ONS register stores in ASCII.  The share is a
   guess at how many bearers write the accent (most Zoes do not; most Sinéads do). */
const synth_accent synth_accents[] = {
    {"Zoe", "Zoë", 150},        {"Chloe", "Chloë", 20},       {"Sian", "Siân", 400},
    {"Renee", "Renée", 500},    {"Rene", "René", 500},        {"Andre", "André", 300},
    {"Jose", "José", 600},      {"Ines", "Inês", 200},        {"Amelie", "Amélie", 500},
    {"Eloise", "Éloïse", 50},   {"Sean", "Seán", 30},         {"Aine", "Áine", 400},
    {"Sinead", "Sinéad", 500},  {"Padraig", "Pádraig", 500},  {"Sion", "Siôn", 300},
    {"Celine", "Céline", 400},  {"Clemence", "Clémence", 400}, {"Jerome", "Jérôme", 100},
    {"Francois", "François", 600}, {"Helene", "Hélène", 500}, {"Lea", "Léa", 300},
    {"Raphael", "Raphaël", 200}, {"Joel", "Joël", 50},        {"Noel", "Noël", 50},
    {"Noelle", "Noëlle", 100},  {"Beyonce", "Beyoncé", 200},  {"Desiree", "Désirée", 400},
    {"Angelique", "Angélique", 400}, {"Anais", "Anaïs", 500}, {"Loic", "Loïc", 500},
    {"Oisin", "Oisín", 300},    {"Ciaran", "Ciarán", 200},    {"Ruairi", "Ruairí", 200},
    {"Sofia", "Sofía", 50},     {"Lucia", "Lucía", 100},      {"Jesus", "Jesús", 500},
    {"Ramon", "Ramón", 500},    {"Bronte", "Brontë", 100},    {"Muller", "Müller", 500},
};
const size_t synth_accent_count = sizeof synth_accents / sizeof synth_accents[0];

/* ASCII for U+00C0..U+00FF; '-' drops the character (multiplication and
   division signs); the ligatures and sharp s are handled separately. */
static const char latin1[] = "AAAAAAACEEEEIIIIDNOOOOO-OUUUUYTsaaaaaaaceeeeiiiidnooooo-ouuuuyty";
/* ASCII for U+0100..U+017F (Latin Extended-A: Polish, Turkish, Romanian cedillas,
   Czech, Hungarian). */
static const char latin_ext_a[] =
    "AaAaAaCcCcCcCcDd"
    "DdEeEeEeEeEeGgGg"
    "GgGgHhHhIiIiIiIi"
    "IiJjJjKkkLlLlLlL"
    "lLlNnNnNnnNnOoOo"
    "OoOoRrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUu"
    "UuUuWwYyYZzZzZzs";

/* Decode one UTF-8 sequence; returns its length (1 for a stray byte, which
   then decodes as U+FFFD). */
static size_t utf8_decode(const unsigned char *s, unsigned long *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    unsigned long v = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* ASCII replacement for a code point: NULL keeps the character, "" drops it. */
static const char *ascii_for(unsigned long cp, char one[2])
{
    one[1] = '\0';
    switch (cp) {
    case 0xC6: return "AE";
    case 0xE6: return "ae";
    case 0xDF: return "ss";
    case 0x152: return "OE";
    case 0x153: return "oe";
    case 0xA0: return " ";           /* no-break space pasted from a spreadsheet */
    case 0x2018: case 0x2019: return "'"; /* curly apostrophes from word processors */
    case 0x2010: case 0x2011: case 0x2013: return "-";
    case 0x218: return "S";          /* Romanian comma-below letters */
    case 0x219: return "s";
    case 0x21A: return "T";
    case 0x21B: return "t";
    default: break;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
        one[0] = latin1[cp - 0xC0];
        return one[0] == '-' ? "" : one;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        one[0] = latin_ext_a[cp - 0x100];
        return one;
    }
    return NULL;
}

void synth_strip_accents(const char *in, char *out, size_t out_size)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p && o + 1 < out_size) {
        unsigned long cp;
        size_t n = utf8_decode(p, &cp);
        char one[2];
        const char *rep = cp < 0x80 ? NULL : ascii_for(cp, one);
        if (!rep) {
            /* Keep it (ASCII or a script we do not fold) if it fits whole. */
            if (o + n >= out_size)
                break;
            memcpy(out + o, p, n);
            o += n;
        } else {
            for (const char *r = rep; *r && o + 1 < out_size; r++)
                out[o++] = *r;
        }
        p += n;
    }
    out[o] = '\0';
}

void synth_fold_key(const char *in, char *out, size_t out_size)
{
    char tmp[256];
    synth_strip_accents(in, tmp, sizeof tmp);
    size_t o = 0;
    for (const char *p = tmp; *p && o + 1 < out_size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'a' && c <= 'z')
            out[o++] = (char)(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '-' ||
                 c == '\'')
            out[o++] = (char)c;
    }
    out[o] = '\0';
}
